"""A self-contained HTML report of an analysis: tables and figures, nothing loaded from outside.

Figures are inline SVG drawn by vl-convert, so the page opens offline, in any browser,
years later. Every text from the data is HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .table_format import FILTER_SCRIPT, TABLE_CSS, table_html

if TYPE_CHECKING:
    from .analysis import AnalysisResult

__all__ = ["html_report", "outcomes_html", "write_report"]

#: Why the full summary table in the report leaves out the Wilcoxon statistic and p: they
#: appear only beside the no-effect expectation (SPEC §7), in the lines above it.
WILCOXON_NOTE = (
    "The Wilcoxon statistic and p are shown only beside the responders expected with no "
    "treatment effect (above); the method and median paired difference stay here."
)

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
.note{color:#555;font-size:.9em}.figure{margin:1em 0}
.banner{background:#fff3cd;border:1px solid #e0c36c;padding:.5em 1em;font-weight:600}
"""


#: Rows of the per-patient table in the report (every row is in periods.csv).
PERIODS_MAX_ROWS = 5000


def _slopes_section(result: AnalysisResult) -> list[str]:
    """The broken-stick model (SPEC §14): fitted here if no face has fitted it yet."""
    from .errors import MscError

    head = "<h2>Model-based slopes from every visit (broken-stick mixed model)</h2>"
    try:
        slopes = result.fitted_slopes or result.slopes()
    except MscError as exc:
        return [head, f"<p class='note'>Not fitted: {html.escape(str(exc))}</p>"]
    return [
        head,
        f"<p>{html.escape(slopes.sentence)}</p>",
        "<p class='note'>One linear mixed model of every assessment, with a change of slope "
        "at each patient's own injections (methods §14). Slopes are declines per month "
        "(positive = losing function); <code>change:k</code> is the change of the decline "
        "at injection k (negative = slower decline after it). 95 % CI = estimate &plusmn; "
        "1.96 se. In an uncontrolled study a slower decline after an injection is not "
        "evidence of a treatment effect by itself: compare with natural history.</p>",
        table_html(slopes.table),
    ]


def html_report(
    result: AnalysisResult, *, title: str = "MSC trial analysis", figures: bool = True
) -> str:
    """Return a self-contained HTML report of an analysis.

    Parameters
    ----------
    result : AnalysisResult
        From :func:`msc_notebooks.analyze`.
    title : str
        The report's title (escaped).
    figures : bool, default True
        Include every figure as inline SVG (vl-convert; offline).

    Returns
    -------
    str
        One HTML page with no external resource (no script, stylesheet or image URL).

    Examples
    --------
    >>> from msc_notebooks import analyze, load_demo
    >>> page = html_report(analyze(load_demo()), figures=False)
    >>> "15/19" in page, "http://" in page or "https://" in page
    (True, False)
    >>> "Responders by progression stratum" in page
    True
    """
    from .demo import DEMO_LABEL, is_demo
    from .summary import INTERVAL_P_TESTS, display_summary, period_lines

    s = result.settings
    demo = is_demo(result.study)
    if demo and DEMO_LABEL not in title.lower():
        title = f"{title} ({DEMO_LABEL})"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}{TABLE_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if demo:
        parts.append(
            f"<p class='banner'>Computed from {DEMO_LABEL}: the bundled synthetic cohort, "
            "not a real study. No number here describes real patients.</p>"
        )
    parts += [
        "<p class='note'>Made with msc-notebooks. Rates are ALSFRS-R points lost per month "
        "(positive = decline). Improvement % = 100 &times; (reference rate &minus; period "
        "rate) / reference rate; relative responder: improvement "
        f"{'&ge;' if s.inclusive else '&gt;'} {s.threshold_pct:g} %; absolute responder: "
        f"reference &minus; period rate &ge; {s.absolute_threshold:g} points/month. "
        f"Outcome: <code>{html.escape(s.outcome)}</code>; reference: {html.escape(s.reference)}; "
        f"method: {html.escape(s.method)}.</p>",
        "<h2>Responders per period</h2><ul>",
    ]
    parts += [f"<li>{html.escape(line)}</li>" for line in period_lines(result.summary, result.null)]
    parts.append("</ul>")
    parts += [
        "<h2>Per-period summary</h2>",
        table_html(display_summary(result.summary, result.null)),
        "<h3>Patients not evaluable, by period and reason</h3>",
        table_html(result.not_evaluable),
        "<h3>All summary columns</h3>",
        "<p class='note'>" + html.escape(WILCOXON_NOTE) + "</p>",
        table_html(result.summary.drop(columns=["wilcoxon_statistic", "wilcoxon_p"])),
    ]
    if result.null is not None:
        from .null_model import no_effect_lines

        parts += [
            "<h2>Responders expected with no treatment effect</h2>",
            "<p class='note'>Simulated cohorts with no effect at the patients' own visit and "
            "injection times (methods §13), under the default model (decline rates change "
            "between periods) and, as a sensitivity line, a constant rate.</p>",
            "<ul class='no-effect'>",
            *(f"<li>{html.escape(t)}</li>" for t in no_effect_lines(result.summary, result.null)),
            "</ul>",
            table_html(result.null),
        ]
    parts += _outcomes_section(result)
    parts += _slopes_section(result)
    matched = getattr(result, "matched", None)
    if matched is not None:
        parts += [
            "<h2 id='matched-controls'>Matched natural-history controls</h2>",
            f"<p>{html.escape(matched.sentence())}</p>",
            "<p class='note'>Each treated patient is matched at the first injection to "
            "untreated patients of the natural-history cohort with a similar reference rate, "
            "score and time since onset; each control gets virtual injections at its treated "
            "patient's own intervals and the same rules (methods §15). Differences are treated "
            "minus controls (percentage points for responders), with 95 % bootstrap CIs over "
            "treated patients. Matching can only balance what was measured; natural-history "
            "cohorts come from other trials and other years.</p>",
            table_html(matched.summary),
            "<h3>Balance of the matching variables</h3>",
            "<p class='note'>Standardised mean differences before and after matching "
            "(|SMD| &lt; 0.1 is the usual mark of good balance).</p>",
            table_html(matched.balance),
            "<h3>Treated patients without a match</h3>",
            table_html(matched.unmatched),
        ]
    parts += ["<h2>Clinically improved after each cycle</h2>", table_html(result.clinical)]
    parts += _stages_and_strata(result)
    parts += [
        "<h2>Interval length and response (Spearman)</h2>",
        table_html(result.intervals),
        f"<p class='note'>{html.escape(INTERVAL_P_TESTS)}</p>",
    ]
    if result.safety is not None:
        parts += [
            "<h2>Safety</h2>",
            f"<p>{html.escape(result.safety.sentence)}</p>",
            "<p class='note'>Patients are the unit of the primary figures; per-injection "
            "figures treat events as independent and also get an interval over patients "
            "(SPEC §9).</p>",
            table_html(result.safety.incidence),
            table_html(result.safety.by_term),
            table_html(result.safety.by_injection),
        ]
    if figures:
        from .charts import all_figures

        parts.append("<h2>Figures</h2>")
        import altair as alt
        import vl_convert as vlc

        # vegafusion pre-computes the data transforms, so large cohorts stay small
        with alt.data_transformers.enable("vegafusion"):
            for name, chart in all_figures(result).items():
                svg = vlc.vega_to_svg(chart.to_dict(format="vega"))
                parts.append(f"<div class='figure' id='fig-{html.escape(name)}'>{svg}</div>")
    parts += [
        "<h2>Per patient and period</h2>",
        "<p class='note'>Click a column header to sort; grey rows are not evaluable.</p>",
        table_html(result.periods, sortable=True, max_rows=PERIODS_MAX_ROWS),
    ]
    parts += [
        "<h2>Data: rows read, used and excluded</h2>",
        table_html(result.study.ledger if result.study.ledger is not None else pd.DataFrame()),
        table_html(result.study.exclusions),
        "<h2>Settings</h2>",
        f"<pre>{html.escape(s.to_json())}</pre>",
        f"<script>{FILTER_SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts)


def outcomes_html(
    table: pd.DataFrame, table_maker: Callable[[pd.DataFrame], str] = table_html
) -> str:
    """Every outcome beside its no-effect expectation as HTML (report and Wizard, issue #21):
    one line per outcome and period (:func:`msc_notebooks.analysis.outcome_lines`), then the
    table of :func:`msc_notebooks.analysis.outcome_view`.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`msc_notebooks.analysis.outcome_summaries`.
    table_maker : callable, default :func:`msc_notebooks.table_format.table_html`
        Turns the view into an HTML table (the Wizard passes its own, with styles).

    Returns
    -------
    str

    Examples
    --------
    >>> from msc_notebooks import load_demo
    >>> from msc_notebooks.analysis import outcome_summaries
    >>> page = outcomes_html(outcome_summaries(load_demo(), outcomes=["bulbar"], n_simulations=20))
    >>> page.count("<li>"), page.count("note on the no-effect expectation")  # the note once
    (6, 1)
    """
    from .analysis import outcome_lines, outcome_view

    view = outcome_view(table)
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in outcome_lines(view))
    return f"<ul>{lines}</ul>" + table_maker(view)


def _outcomes_section(result: AnalysisResult) -> list[str]:
    """Report section: every outcome beside its no-effect expectation (issue #21)."""
    if getattr(result, "outcomes", None) is None:
        return []
    from .analysis import OUTCOME_NOTE

    return [
        "<h2 id='outcomes'>Every outcome beside its no-effect expectation</h2>",
        f"<p class='note'>{html.escape(OUTCOME_NOTE)}</p>",
        outcomes_html(result.outcomes),
    ]


def _stages_and_strata(result: AnalysisResult) -> list[str]:
    """Report sections: stage progression per period and responders by ΔFS stratum (SPEC §16)."""
    from .strata import stage_and_strata_tables

    t = stage_and_strata_tables(result)
    s = result.settings
    return [
        "<h2>Clinical stages (King's and MiToS)</h2>",
        "<p class='note'>Stages derived from the ALSFRS-R items of the assessments the "
        "analysis uses, at the start and end of each period (figure: stage transitions). "
        "Patients whose stage progressed, of those with both stages known, with the exact "
        "(Clopper&ndash;Pearson) 95 % CI; <code>n_not_staged</code> counts the others "
        "(reasons in <code>stage_periods.csv</code>). Stages derived from scores can go "
        "back (<code>n_back</code>).</p>",
        table_html(t["stage_progression.csv"]),
        "<h2>Responders by progression stratum (&Delta;FS)</h2>",
        "<p class='note'>&Delta;FS = (48 &minus; ALSFRS-R at the first assessment) / months "
        f"from symptom onset to it: slow &lt; {s.dfs_slow_below:g}, intermediate "
        f"{s.dfs_slow_below:g}&ndash;{s.dfs_fast_above:g}, fast &gt; {s.dfs_fast_above:g} "
        "points/month. Slow progressors have small reference rates, so a change of a point "
        "or two makes their improvement percentage large: they look like responders with no "
        "treatment effect at all. Compare each stratum's responders with the count expected "
        "with no effect (filled when no-effect cohorts are simulated).</p>",
        table_html(t["strata_summary.csv"]),
    ]


def write_report(result: AnalysisResult, path: str | Path, **kwargs: object) -> Path:
    """Write :func:`html_report` to a file (UTF-8) and return its path.

    Examples
    --------
    >>> import tempfile, os
    >>> from msc_notebooks import analyze, load_demo
    >>> p = write_report(analyze(load_demo()), os.path.join(tempfile.mkdtemp(), "r.html"),
    ...                  figures=False)
    >>> p.suffix
    '.html'
    """
    path = Path(path)
    path.write_text(html_report(result, **kwargs), encoding="utf-8")
    return path
