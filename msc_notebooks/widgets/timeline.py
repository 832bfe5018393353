"""The interactive injection timeline: an anywidget drawing one patient's schedule.

The front end is the plain ES module ``msc_notebooks/widgets/static/timeline.js`` (the
usual anywidget layout); no build step, nothing loaded from the internet. Everything the view shows and edits is a synced traitlet, so the
widget is driven from Python exactly as the browser drives it.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets

__all__ = ["InjectionTimeline", "STATIC", "static_file"]


#: The front-end files (ES module and CSS), shipped inside the package as anywidget expects.
STATIC = Path(__file__).resolve().parent / "static"


def static_file(name: str) -> Path:
    """Return the path of a front-end file (``timeline.js``, ``timeline.css``).

    Parameters
    ----------
    name : str
        File name inside :data:`STATIC` (``msc_notebooks/widgets/static/``).

    Returns
    -------
    pathlib.Path
        The existing file.

    Examples
    --------
    >>> static_file("timeline.js").name
    'timeline.js'
    """
    path = STATIC / name
    if not path.is_file():
        raise FileNotFoundError(
            f"front-end file {name!r} not found in {STATIC}; reinstall msc-notebooks"
        )
    return path


class InjectionTimeline(anywidget.AnyWidget):
    """One patient's assessments and injections on a time axis; markers can be edited.

    In the browser: double-click (or *Add injection*) adds a marker, dragging moves it,
    Tab focuses a marker, ArrowLeft/ArrowRight move it by 1 day (Shift: 7 days), Delete
    removes it. Every edit sets :attr:`injections`; the injections step observes it.

    Attributes
    ----------
    patient_id : str
        The patient shown.
    assessments : list of dict
        ``{"day": float, "score": float}`` per assessment (days in the study's time base).
    injections : list of float
        Injection days, sorted.
    selected : int
        Index of the selected marker in :attr:`injections`, -1 for none.
    error : str
        A message shown above the axis (an impossible schedule), empty for none.
    time_kind : {'date', 'day'}
        ``'date'``: days count from 1970-01-01 and ticks show dates; ``'day'``: day offsets.
    score_label : str
        Label of the score axis.

    Examples
    --------
    >>> t = InjectionTimeline(patient_id="01", injections=[90.0, 180.0])
    >>> t.injections = [90.0, 210.0]          # what a drag of marker 2 does
    >>> t.injections
    [90.0, 210.0]
    """

    _esm = static_file("timeline.js")
    _css = static_file("timeline.css")

    patient_id = traitlets.Unicode("").tag(sync=True)
    assessments = traitlets.List(traitlets.Dict()).tag(sync=True)
    injections = traitlets.List(traitlets.Float()).tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    time_kind = traitlets.Unicode("day").tag(sync=True)
    score_label = traitlets.Unicode("ALSFRS-R total").tag(sync=True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.add_class("msc-timeline")
