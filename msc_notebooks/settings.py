"""Analysis settings (SPEC §2–9, §13): one frozen object that travels with every result."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from .columns import SETTING_CHOICES
from .errors import SettingsError, check_names

__all__ = ["Settings", "SETTING_HELP", "SETTING_CHOICES", "MONTH_DAYS"]

#: One month in days (SPEC §2): 365.25 / 12.
MONTH_DAYS = 365.25 / 12

#: One-line explanation of every setting, shown by the widgets and ``--help``.
SETTING_HELP: dict[str, str] = {
    "reference": "Pre-treatment rate: 'run-in' (first assessment to the first injection) "
    "or 'onset' ((48 - score at first injection) / months since symptom onset). methods §4.",
    "method": "Rate within a period: 'endpoints' (two assessments) or 'ols' "
    "(least-squares slope of all assessments in the period). methods §5.",
    "window_days": "The score at an injection is the assessment nearest to it within this "
    "many days either side (ties go to the earlier one). methods §3.",
    "min_span_days": "A period needs its two assessments at least this many days apart. methods §12.",
    "threshold_pct": "Relative responder: improvement above this percentage. methods §6.",
    "inclusive": "Count an improvement equal to the threshold as a response (>= instead of >).",
    "absolute_threshold": "Absolute responder: reference rate minus period rate at least this "
    "many points/month (1.25; 1.5 is the other published value). methods §6.",
    "month_days": "Days in one month (365.25 / 12 = 30.4375). methods §2.",
    "outcome": "The outcome column analysed (ALSFRS-R total, a domain, FVC % predicted).",
    "clinical_points": "Clinically improved after a cycle: score gain of at least this many "
    "points since the first injection. methods §6.",
    "bootstrap_samples": "Bootstrap resamples for the 95% CI of the mean improvement. methods §7.",
    "seed": "Random seed of the bootstrap and the no-effect simulations (reproducible).",
    "ae_window_days": "An adverse event is attributed to the injection it follows within this "
    "many days. methods §9.",
    "stages_running_max": "Report each patient's highest King's and MiToS stage so far instead "
    "of the stage as derived from that assessment's items (derived stages can go back). methods §16.",
    "dfs_slow_below": "Progression strata: a pre-diagnosis slope (delta-FS, points/month) below "
    "this is a slow progressor (0.47, Labra et al. 2016). methods §16.",
    "dfs_fast_above": "Progression strata: a delta-FS above this is a fast progressor (1.11, "
    "Labra et al. 2016); in between, intermediate. methods §16.",
}


@dataclass(frozen=True)
class Settings:
    """Every setting of the analysis, with the SPEC defaults.

    Parameters
    ----------
    reference : {'run-in', 'onset'}
        How the pre-treatment (reference) rate is computed (SPEC §4).
    method : {'endpoints', 'ols'}
        How a period's rate is computed (SPEC §5).
    window_days : float, default 14
        Window (days, either side) for the score at an injection (SPEC §3).
    min_span_days : float, default 28
        Minimum days between the two assessments of a period (SPEC §12).
    threshold_pct : float, default 25
        Relative responder threshold, percent improvement (SPEC §6).
    inclusive : bool, default False
        ``improvement >= threshold`` instead of ``>``.
    absolute_threshold : float, default 1.25
        Absolute responder threshold, ALSFRS-R points per month (SPEC §6).
    month_days : float, default 30.4375
        Days per month (SPEC §2).
    outcome : str, default 'alsfrs_r_total'
        Visits column analysed.
    clinical_points : float, default 1
        Points gained since the first injection to count as clinically improved (SPEC §6).
    bootstrap_samples : int, default 2000
        Resamples of the bootstrap CI (SPEC §7).
    seed : int, default 0
        Seed of every random draw.
    ae_window_days : float, default 30
        Adverse-event attribution window after an injection, days (SPEC §9).
    stages_running_max : bool, default False
        Report the running maximum of each patient's clinical stages (SPEC §16).
    dfs_slow_below, dfs_fast_above : float, default 0.47 and 1.11
        Progression strata cut-offs of the pre-diagnosis slope ΔFS, points/month
        (slow < 0.47 <= intermediate <= 1.11 < fast; SPEC §16).

    Examples
    --------
    >>> s = Settings(threshold_pct=30)
    >>> s.threshold_pct, s.month_days
    (30, 30.4375)
    >>> Settings.from_dict(s.to_dict()) == s
    True
    >>> Settings(method="slope")
    Traceback (most recent call last):
    ...
    msc_notebooks.errors.SettingsError: method must be one of 'endpoints', 'ols', not 'slope'
    """

    reference: Literal["run-in", "onset"] = "run-in"
    method: Literal["endpoints", "ols"] = "endpoints"
    window_days: float = 14
    min_span_days: float = 28
    threshold_pct: float = 25
    inclusive: bool = False
    absolute_threshold: float = 1.25
    month_days: float = MONTH_DAYS
    outcome: str = "alsfrs_r_total"
    clinical_points: float = 1
    bootstrap_samples: int = 2000
    seed: int = 0
    ae_window_days: float = 30
    stages_running_max: bool = False
    dfs_slow_below: float = 0.47
    dfs_fast_above: float = 1.11
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name, allowed in SETTING_CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                quoted = ", ".join(repr(a) for a in allowed)
                raise SettingsError(f"{name} must be one of {quoted}, not {value!r}")
        positive = ("window_days", "month_days", "bootstrap_samples")
        for name in positive:
            if not getattr(self, name) > 0:
                raise SettingsError(f"{name} must be positive, not {getattr(self, name)!r}")
        if not 0 <= self.dfs_slow_below <= self.dfs_fast_above:
            raise SettingsError(
                "dfs_slow_below must be zero or more and at most dfs_fast_above, not "
                f"{self.dfs_slow_below!r} and {self.dfs_fast_above!r}"
            )
        for name in ("min_span_days", "ae_window_days", "absolute_threshold"):
            if not getattr(self, name) >= 0:
                raise SettingsError(f"{name} must be zero or more, not {getattr(self, name)!r}")

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some settings changed.

        Examples
        --------
        >>> Settings().replace(method="ols").method
        'ols'
        """
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a plain, JSON-ready dict.

        Examples
        --------
        >>> Settings().to_dict()["reference"]
        'run-in'
        """
        data = dataclasses.asdict(self)
        data.pop("extra")
        return data

    def to_json(self) -> str:
        """Return the settings as indented JSON text.

        Examples
        --------
        >>> '"threshold_pct": 25' in Settings().to_json()
        True
        """
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        """Build settings from a dict (unknown keys are an error that lists the known ones).

        Examples
        --------
        >>> Settings.from_dict({"threshold_pct": 40}).threshold_pct
        40
        """
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        check_names(data, sorted(known), "setting")
        return cls(**data)
