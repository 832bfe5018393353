"""The benchmark's straightforward baseline and the engine agree (keeps the baseline honest).

``benchmarks/baseline.py`` is an independent, per-patient implementation of SPEC §3–7 with
the default settings. On a 50-patient synthetic cohort (``benchmarks/synth.py``) both must
give the same improvement for every patient and period (to 1e-9 %), the same evaluable
patient-periods, and the same responder counts per period. The benchmark itself is never
run as a timed assertion here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from baseline import baseline_analysis  # noqa: E402
from synth import synth_cohort  # noqa: E402

import msc_notebooks as msc  # noqa: E402


@pytest.fixture(scope="module", params=["date", "day"])
def both(request):
    tables = synth_cohort(50, seed=11, time=request.param)
    study = msc.read_study(tables["visits"], tables["injections"], tables["patients"])
    engine = msc.analyze(study, safety=False)
    base_periods, base_summary = baseline_analysis(tables["visits"], tables["injections"])
    return engine, base_periods, base_summary


def _keyed(df):
    df = df[df["period"] != "reference"]
    return df.set_index(["patient_id", "period"]).sort_index()


def test_same_patient_periods_and_evaluable(both):
    engine, base, _ = both
    e, b = _keyed(engine.periods), _keyed(base)
    assert list(e.index) == list(b.index)
    assert e["evaluable"].astype(bool).tolist() == b["evaluable"].tolist()
    # the cohort exercises both evaluable and not-evaluable periods
    assert 0 < int(b["evaluable"].sum()) < len(b)


def test_improvement_equal_per_patient_period(both):
    # SPEC §6: improvement % = 100 x (reference - period rate) / reference
    engine, base, _ = both
    e, b = _keyed(engine.periods), _keyed(base)
    ei = e["improvement_pct"].to_numpy(dtype=float)
    bi = b["improvement_pct"].to_numpy(dtype=float)
    assert np.array_equal(np.isnan(ei), np.isnan(bi))
    ok = ~np.isnan(bi)
    assert np.max(np.abs(ei[ok] - bi[ok])) <= 1e-9


def test_responder_counts_equal(both):
    # SPEC §6-7: relative (> 25 %) and absolute (>= 1.25 points/month) responders per period
    engine, _, base_summary = both
    e = engine.summary.set_index("period")
    b = base_summary.set_index("period")
    assert list(e.index) == list(b.index)
    for col in ("n_evaluable", "n_responders", "n_absolute_responders"):
        assert e[col].astype(int).tolist() == b[col].astype(int).tolist(), col
    np.testing.assert_allclose(e["mean_improvement_pct"], b["mean_improvement_pct"], atol=1e-9)
    np.testing.assert_allclose(e["wilcoxon_p"], b["wilcoxon_p"], rtol=1e-9, equal_nan=True)
