"""Step 1, Load: the demo cohort, files on the server or an upload; preview, column map,
validation report (exclusions and ledger)."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..columns import CANONICAL, ITEMS, TABLES, recognise_columns
from ..errors import InputError
from .common import Step, note, table_html
from .state import WizardState

__all__ = ["LoadStep", "guess_column_map", "read_upload"]

_NONE = ""


def guess_column_map(table: str, columns: list[str]) -> dict[str, str | None]:
    """Guess which of a file's columns holds each canonical column of a table.

    The columns the schema recognises (:func:`msc_notebooks.columns.recognise_columns`:
    canonical, PRO-ACT and other known names, case and punctuation ignored) are mapped,
    exactly as reading the file maps them; a file column is used at most once.

    Parameters
    ----------
    table : {'visits', 'injections', 'patients', 'adverse_events'}
        The table the file is.
    columns : list of str
        The file's column names.

    Returns
    -------
    dict
        Canonical name to the file column (None when not recognised).

    Examples
    --------
    >>> m = guess_column_map("visits", ["subject_id", "ALSFRS_Delta", "ALSFRS_R_Total"])
    >>> m["patient_id"], m["day"], m["alsfrs_r_total"]
    ('subject_id', 'ALSFRS_Delta', 'ALSFRS_R_Total')
    >>> guess_column_map("injections", ["Patient ID", "Date"])["patient_id"]
    'Patient ID'
    >>> guess_column_map("injections", ["patientid", "when"])["date"] is None
    True
    """
    columns = [str(c) for c in columns]
    found = {c: c for c in CANONICAL[table] if c in columns}
    for their, canon in recognise_columns(table, columns).items():
        found.setdefault(canon, their)
    return {canon: found.get(canon) for canon in CANONICAL[table]}


def _their_columns(raw: Any) -> list[str]:
    """The file's own column names (reading renamed the recognised ones)."""
    their = {new: old for old, new in raw.attrs.get("recognised", {}).items()}
    return [their.get(str(c), str(c)) for c in raw.columns if c != "row"]


def read_upload(name: str, content: bytes | memoryview, table: str) -> Any:
    """Read an uploaded CSV or Excel file from its bytes, exactly as a file on disk is read.

    The bytes go to a private temporary folder only for as long as
    :func:`msc_notebooks.loading.read_table` needs to read them (the same CSV/Excel rules
    as files on the server: separators, encodings, sheets, row numbers), then the folder is
    deleted. The result keeps the spreadsheet row numbers in ``row`` (header = row 1).

    Parameters
    ----------
    name : str
        The uploaded file's name (its extension chooses the reader).
    content : bytes
        The file's bytes.
    table : {'visits', 'injections', 'patients', 'adverse_events'}
        Which table the file is.

    Returns
    -------
    pandas.DataFrame
        The raw table (cells as text), canonical names where recognised, and ``row``.

    Examples
    --------
    >>> df = read_upload("v.csv", b"subject_id,visit_day\\n01,0\\n01,30\\n", "visits")
    >>> df.to_dict("list")
    {'patient_id': ['01', '01'], 'day': ['0', '30'], 'row': [2, 3]}
    """
    import tempfile
    from pathlib import Path

    from ..loading import read_table

    safe = Path(str(name)).name or "upload.csv"
    if not safe.lower().endswith((".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls")):
        raise InputError("unsupported file type", source=safe, fix="upload a .csv or .xlsx file")
    with tempfile.TemporaryDirectory(prefix="msc-upload-") as tmp:
        path = Path(tmp) / safe
        path.write_bytes(bytes(content))
        df = read_table(path, table)
    df.attrs["source"] = safe
    return df


class LoadStep(Step):
    """Load the data: demo cohort, files on the server, or an upload.

    Attributes
    ----------
    source_choice : ipywidgets.ToggleButtons
        ``'demo'``, ``'files'`` or ``'upload'``.
    demo_button : ipywidgets.Button
    paths : dict of ipywidgets.Text
        One path per table (visits, injections, patients, adverse_events).
    date_format : ipywidgets.Text
        e.g. ``%d/%m/%Y``; empty to accept ISO dates only.
    preview_button, load_button : ipywidgets.Button
    upload_table : ipywidgets.Dropdown
        Which table the next upload is.
    upload : ipywidgets.FileUpload
        CSV or XLSX; its value is cleared as soon as the file is read.
    mapping : dict
        Table to {canonical column: Dropdown of the file's columns}.
    preview, report : ipywidgets.HTML
        First rows of each table; the validation report (ledger, exclusions, warnings).

    Examples
    --------
    >>> step = LoadStep()
    >>> step.source_choice.value
    'demo'
    """

    title = "Load"

    def __init__(self, state: WizardState | None = None, **kwargs: Any) -> None:
        super().__init__(state, **kwargs)
        self._frames: dict[str, Any] = {}  # uploaded tables, as DataFrames (never bytes)
        self._upload_names: dict[str, str] = {}
        self._upload_paths: dict[str, str] = {}
        #: Folder where uploads are saved (a study's ``data/``); None keeps them in memory.
        self.save_uploads_to: Any = None
        self._columns: dict[str, list[str]] = {}
        self.mapping: dict[str, dict[str, w.Dropdown]] = {}

        self.source_choice = w.ToggleButtons(
            options=[
                ("Demo cohort", "demo"),
                ("Files on the server", "files"),
                ("Upload", "upload"),
            ],
            value="demo",
            description="Data:",
        )
        self.demo_button = w.Button(description="Load demo cohort", button_style="primary")
        self.demo_button.add_class("msc-load-demo")
        self.demo_box = w.VBox(
            [
                w.HTML(note("A synthetic cohort bundled with the kit (no real patients).")),
                self.demo_button,
            ]
        )

        self.paths = {
            t: w.Text(
                description=t.replace("_", " "),
                placeholder="path on the server"
                + (" (required)" if t in ("visits", "injections") else ""),
                layout=w.Layout(width="520px"),
                style={"description_width": "110px"},
            )
            for t in TABLES
        }
        self.date_format = w.Text(
            description="date format",
            placeholder="e.g. %d/%m/%Y (empty: ISO dates)",
            style={"description_width": "110px"},
        )
        self.preview_button = w.Button(description="Preview columns")
        self.files_box = w.VBox([*self.paths.values(), self.date_format, self.preview_button])

        self.upload_table = w.Dropdown(options=list(TABLES), value="visits", description="table")
        self.upload = w.FileUpload(accept=".csv,.xlsx,.xls", multiple=False, description="Upload")
        self.uploaded = w.HTML("")
        self.upload_box = w.VBox(
            [
                w.HTML(
                    note("Choose the table, then upload its CSV or XLSX file; repeat per table.")
                ),
                w.HBox([self.upload_table, self.upload]),
                self.uploaded,
                self.date_format,  # the same field as for files on the server
            ]
        )

        self.preview = w.HTML("")
        self.preview.add_class("msc-preview")
        self.mapping_box = w.VBox([])
        self.mapping_box.add_class("msc-column-map")
        self.load_button = w.Button(description="Load and validate", button_style="primary")
        self.load_button.add_class("msc-load")
        self.report = w.HTML("")
        self.report.add_class("msc-validation-report")
        self.panel = w.VBox([self.demo_box])

        self.source_choice.observe(self.guarded(self._on_source), names="value")
        self.demo_button.on_click(self.guarded(lambda _: self.load_demo()))
        self.preview_button.on_click(self.guarded(lambda _: self.preview_files()))
        self.load_button.on_click(self.guarded(lambda _: self.load()))
        self.upload.observe(self.guarded(self._on_upload), names="value")
        self.load_button.layout.display = "none"

        self.children = [
            w.HTML("<h3>1. Load the data</h3>"),
            self.source_choice,
            self.panel,
            self.preview,
            self.mapping_box,
            self.load_button,
            self.message,
            self.report,
        ]

    # -- choosing a source ---------------------------------------------------------------
    def _on_source(self, change: dict[str, Any]) -> None:
        kind = change["new"]
        self.panel.children = [
            {"demo": self.demo_box, "files": self.files_box, "upload": self.upload_box}[kind]
        ]
        self.load_button.layout.display = "none" if kind == "demo" else None
        self.preview.value = ""
        self.mapping_box.children = []
        self.mapping = {}
        self.show("")

    def _on_upload(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        table = self.upload_table.value
        try:
            for item in files:
                name = item["name"]
                self._frames[table] = read_upload(name, item["content"], table)
                self._upload_names[table] = name
                if self.save_uploads_to is not None:  # the study's own data folder
                    from pathlib import Path

                    folder = Path(self.save_uploads_to)
                    folder.mkdir(parents=True, exist_ok=True)
                    target = folder / (Path(str(name)).name or f"{table}.csv")
                    target.write_bytes(bytes(item["content"]))
                    self._upload_paths[table] = str(target)
        finally:
            # never keep the file's bytes in widget state (the browser's copy is dropped too)
            self.upload.value = ()
        df = self._frames[table]
        self.uploaded.value = note(
            "Uploaded: "
            + "; ".join(
                f"{t}: {n} ({len(self._frames[t])} rows)" for t, n in self._upload_names.items()
            ),
            "ok",
        )
        self._columns[table] = _their_columns(df)
        self._show_previews({t: f.head(5) for t, f in self._frames.items()})
        self._build_mapping()
        self.show(f"Read {name} as the {table} table ({len(df)} rows).", "ok")
        if self.upload_table.value == "visits":
            self.upload_table.value = "injections"

    # -- preview and column map -----------------------------------------------------------
    def preview_files(self) -> None:
        """Read the first rows of each file given and pre-fill the column map."""
        from ..loading import read_table

        self.report.value = ""  # a report of earlier data must not sit under a new error

        heads = {}
        self._columns = {}
        for table, box in self.paths.items():
            path = box.value.strip()
            if not path:
                continue
            raw = read_table(path, table, date_format=self.date_format.value.strip() or None)
            heads[table] = raw.head(5)
            self._columns[table] = _their_columns(raw)
        if not heads:
            raise InputError(
                "no file given", fix="type the path of the visits and injections files"
            )
        self._show_previews(heads)
        self._build_mapping()
        self.show("Check the column map, then press 'Load and validate'.")

    def _show_previews(self, heads: dict[str, Any]) -> None:
        self.preview.value = "".join(
            f"<h4>{t} (first rows)</h4>" + table_html(df, max_rows=5) for t, df in heads.items()
        )

    def _build_mapping(self) -> None:
        rows = []
        old = {t: {c: d.value for c, d in m.items()} for t, m in self.mapping.items()}
        self.mapping = {}
        for table, columns in self._columns.items():
            guess = guess_column_map(table, columns)
            options = [("(not in the file)", _NONE)] + [(c, c) for c in columns]
            drops = {}
            for canon in CANONICAL[table]:
                value = old.get(table, {}).get(canon, guess.get(canon)) or _NONE
                if value not in columns:
                    value = guess.get(canon) or _NONE
                drop = w.Dropdown(
                    options=options,
                    value=value,
                    description=canon,
                    style={"description_width": "150px"},
                    layout=w.Layout(width="380px"),
                )
                drops[canon] = drop
            self.mapping[table] = drops
            rows.append(w.HTML(f"<b>Column map: {table}</b> (canonical name &larr; your column)"))
            grid = w.Layout(grid_template_columns="repeat(2, 390px)")
            items = [d for c, d in drops.items() if c in (*ITEMS, "q5a", "q5b")]
            rows.append(w.GridBox([d for d in drops.values() if d not in items], layout=grid))
            if items:
                rows.append(self._items_box(drops, items, grid))
        self.mapping_box.children = rows

    @staticmethod
    def _items_box(drops: dict[str, w.Dropdown], items: list[w.Dropdown], grid: w.Layout):
        """The 12 item dropdowns, hidden while the ALSFRS-R total is mapped (not needed)."""
        title = w.HTML("<b>ALSFRS-R items</b> (only needed when the file has no total)")
        box = w.VBox([title, w.GridBox(items, layout=grid)])
        box.add_class("msc-item-map")
        total = drops.get("alsfrs_r_total")

        def sync(_change: Any = None) -> None:
            mapped = total is not None and bool(total.value)
            chosen = any(d.value for d in items)
            box.layout.display = "none" if mapped and not chosen else None

        if total is not None:
            total.observe(sync, names="value")
        sync()
        return box

    def column_map(self) -> dict[str, dict[str, str]]:
        """Return the column map chosen: table to {file column: canonical name}.

        Only columns whose name differs from the canonical name are listed.
        """
        out: dict[str, dict[str, str]] = {}
        for table, drops in self.mapping.items():
            pairs = {d.value: canon for canon, d in drops.items() if d.value and d.value != canon}
            if pairs:
                out[table] = pairs
        return out

    def set_column_map(self, column_map: dict[str, dict[str, str]]) -> None:
        """Set the column-map dropdowns from a saved map (table to {file column: canonical})."""
        for table, pairs in (column_map or {}).items():
            for src, canon in pairs.items():
                drop = self.mapping.get(table, {}).get(canon)
                if drop is not None and src in [v for _, v in drop.options]:
                    drop.value = src

    # -- loading ----------------------------------------------------------------------------
    def load_demo(self) -> None:
        """Load the bundled synthetic cohort into the shared state."""
        from ..demo import load_demo

        self.show("Loading the demo cohort ...")
        study = load_demo()
        self._set_study(study, {"kind": "demo"})

    def load(self) -> None:
        """Read and validate the chosen files or uploads into the shared state."""
        from ..loading import read_study

        kind = self.source_choice.value
        if kind == "demo":
            self.load_demo()
            return
        self.report.value = ""  # a report of earlier data must not sit under a new error
        column_map = self.column_map() or None
        date_format = self.date_format.value.strip() or None
        if kind == "files":
            paths = {t: box.value.strip() or None for t, box in self.paths.items()}
            for needed in ("visits", "injections"):
                if not paths[needed]:
                    raise InputError(
                        f"no {needed} file given", fix=f"type the path of the {needed} file"
                    )
            self.show("Reading and validating ...")
            study = read_study(**paths, column_map=column_map, date_format=date_format)
            source = {
                "kind": "files",
                "paths": {t: p for t, p in paths.items() if p},
                "column_map": column_map or {},
                "date_format": date_format,
            }
        else:
            for needed in ("visits", "injections"):
                if needed not in self._frames:
                    raise InputError(
                        f"no {needed} table uploaded",
                        fix=f"choose table '{needed}' and upload its file",
                    )
            self.show("Reading and validating ...")
            saved = {t: p for t, p in self._upload_paths.items() if t in self._frames}
            study = read_study(
                **{t: saved.get(t) or self._frames.get(t) for t in TABLES},
                column_map=column_map,
                date_format=date_format,
            )
            source = {
                "kind": "upload",
                "names": dict(self._upload_names),
                "paths": saved,
                "column_map": column_map or {},
                "date_format": date_format,
            }
        self._set_study(study, source)

    def _set_study(self, study: Any, source: dict[str, Any]) -> None:
        self.state.injection_edits = {}
        self.state.source = source
        self.state.study = study
        self.report.value = validation_report(study)
        n = study.patients["patient_id"].nunique() if len(study.patients) else 0
        self.show(
            f"Loaded {n} patients, {len(study.visits)} assessments, "
            f"{len(study.injections)} injections.",
            "ok",
        )


def validation_report(study: Any) -> str:
    """Return the validation report of a study as HTML: ledger, warnings, exclusions.

    Parameters
    ----------
    study : StudyData
        A validated study.

    Returns
    -------
    str
        HTML: the ledger table (rows read = used + excluded, SPEC §10), the warnings, and
        the exclusions table with the reason of each row not used.
    """
    parts = ["<h4>Validation report</h4>"]
    if study.ledger is not None:
        parts.append("<b>Rows read, used and excluded per table</b>")
        parts.append(table_html(study.ledger, css_class="msc-table msc-ledger"))
    for text in study.warnings or []:
        parts.append(note(f"Warning: {text}"))
    exc = study.exclusions
    if exc is None or len(exc) == 0:
        parts.append(note("No row excluded.", "ok"))
    else:
        parts.append(f"<b>{len(exc)} rows not used, and why</b>")
        parts.append(table_html(exc, max_rows=100, css_class="msc-table msc-exclusions"))
    return "".join(parts)
