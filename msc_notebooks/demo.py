"""The bundled demo cohort: SYNTHETIC data modelled on the published trial (no real patient).

See ``msc_notebooks/data/demo/README.md`` and ``msc_notebooks/_demo_build.py`` (which
made the files). It is the kit's teaching cohort: under the default settings its analysis
gives the published figures (SPEC.md, "Reference figures").
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .columns import TABLES

if TYPE_CHECKING:
    import pandas as pd

    from .study import StudyData

__all__ = ["DEMO_DIR", "DEMO_LABEL", "demo_paths", "demo_tables", "load_demo", "is_demo"]

#: Folder of the demo CSV files (canonical names, ISO dates).
DEMO_DIR = Path(__file__).parent / "data" / "demo"


#: What every result computed from the demo cohort says where a reader sees it.
DEMO_LABEL = "synthetic demo data"


def is_demo(study: StudyData) -> bool:
    """True when a study is the bundled synthetic demo cohort (:func:`load_demo` marks it).

    :func:`load_demo` adds ``sources["cohort"] = DEMO_LABEL``, which travels into every
    exported ``settings.json``.

    Examples
    --------
    >>> is_demo(load_demo())
    True
    >>> from msc_notebooks.study import StudyData
    >>> import pandas as pd
    >>> is_demo(StudyData(pd.DataFrame(), pd.DataFrame(), pd.DataFrame()))
    False
    """
    return (getattr(study, "sources", None) or {}).get("cohort") == DEMO_LABEL


def demo_paths() -> dict[str, Path]:
    """Paths of the four demo CSV files, by table name.

    Examples
    --------
    >>> sorted(demo_paths())
    ['adverse_events', 'injections', 'patients', 'visits']
    """
    return {name: DEMO_DIR / f"{name}.csv" for name in TABLES}


def demo_tables() -> dict[str, pd.DataFrame]:
    """The demo cohort as raw tables, exactly as in its CSV files (ids as text).

    Examples
    --------
    >>> t = demo_tables()
    >>> t["visits"].patient_id.iloc[0], len(t["patients"])
    ('001', 20)
    """
    import pandas as pd

    return {name: pd.read_csv(path, dtype=str) for name, path in demo_paths().items()}


def load_demo() -> StudyData:
    """Read and validate the demo cohort (20 enrolled, 19 treated; synthetic).

    Returns
    -------
    StudyData
        The validated study, through the same :func:`msc_notebooks.read_study` a user's
        files go through.

    Examples
    --------
    >>> study = load_demo()
    >>> study.patients.withdrawn.sum(), study.injections.patient_id.nunique()
    (1, 19)
    """
    from .loading import read_study

    study = read_study(**{name: str(path) for name, path in demo_paths().items()})
    study.sources["cohort"] = DEMO_LABEL
    return study
