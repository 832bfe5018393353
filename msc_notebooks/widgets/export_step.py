"""Step 6, Export: write the results (CSV, Excel), figures (SVG, PNG), the settings file and
an HTML report into a folder, and list the files written."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as w

from ..errors import InputError
from .common import Step
from .state import WizardState

__all__ = ["ExportStep"]


class ExportStep(Step):
    """Write everything about the current result into a folder on the server.

    Attributes
    ----------
    folder : ipywidgets.Text
        The output folder (created if needed).
    figures, excel, report : ipywidgets.Checkbox
        Also write the figures (SVG and PNG), the Excel workbook, the HTML report.
    write : ipywidgets.Button
    files : ipywidgets.HTML
        The files written (CSS class ``msc-export-files``).
    written : list of Path
        The files written by the last export.
    """

    title = "Export"

    def __init__(self, state: WizardState | None = None, **kwargs: Any) -> None:
        super().__init__(state, **kwargs)
        self.folder = w.Text(
            value="msc_results", description="folder", layout=w.Layout(width="520px")
        )
        self.figures = w.Checkbox(value=True, description="figures (SVG, PNG)")
        self.excel = w.Checkbox(value=True, description="Excel workbook")
        self.report = w.Checkbox(value=True, description="HTML report")
        self.write = w.Button(description="Write results", button_style="primary")
        self.write.add_class("msc-export")
        self.files = w.HTML("")
        self.files.add_class("msc-export-files")
        self.written: list[Path] = []
        self.write.on_click(self.guarded(lambda _: self.export()))
        self.children = [
            w.HTML("<h3>6. Export</h3>"),
            self.folder,
            w.HBox([self.figures, self.excel, self.report]),
            self.write,
            self.message,
            self.files,
        ]

    def export(self) -> list[Path]:
        """Write the current result into :attr:`folder`; return the files written."""
        result = self.state.result
        if result is None:
            raise InputError(
                self.state.analysis_error or "there is no result to export",
                fix="load data (step 1) and check the results (step 4)",
            )
        text = self.folder.value.strip()
        if not text:
            raise InputError("no folder given", fix="type the folder to write the results into")
        out = Path(text).expanduser()
        from ..export import write_results

        self.show(f"Writing into {out} ...")
        paths = [
            Path(p)
            for p in write_results(
                result,
                out,
                figures=self.figures.value,
                excel=self.excel.value,
                report=self.report.value,
            )
        ]
        self.written = paths
        items = "".join(f"<li><code>{html.escape(str(p))}</code></li>" for p in paths)
        self.files.value = f"<ul>{items}</ul>"
        self.show(f"{len(paths)} files written into {out}.", "ok")
        return paths
