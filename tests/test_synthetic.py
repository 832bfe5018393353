"""The synthetic natural-history cohort: valid tables, and aggregates like real natural
history (SPEC §13, "What real natural history shows")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msc_notebooks.columns import ITEMS
from msc_notebooks.natural_history import natural_history_result
from msc_notebooks.null_model import estimate_sigma
from msc_notebooks.settings import Settings
from msc_notebooks.synthetic import natural_history_cohort

MONTH = 365.25 / 12  # SPEC §2


def test_tables_are_valid_and_seeded():
    a = natural_history_cohort(60, seed=4)
    b = natural_history_cohort(60, seed=4)
    c = natural_history_cohort(60, seed=5)
    pd.testing.assert_frame_equal(a.visits, b.visits)
    assert not a.visits["alsfrs_r_total"].equals(c.visits["alsfrs_r_total"])
    v = a.visits
    assert a.injections.empty and a.time_kind == "day"
    assert v["alsfrs_r_total"].between(0, 48).all()
    assert (v["alsfrs_r_total"] == v["alsfrs_r_total"].round()).all()
    items = v[list(ITEMS)]
    assert items.ge(0).all().all() and items.le(4).all().all()
    assert (items.sum(axis=1) == v["alsfrs_r_total"]).all()
    assert (a.patients["onset_day"] < 0).all()
    assert a.ledger["rows_excluded"].sum() == 0
    assert "q1" not in natural_history_cohort(5, items=False).visits


def consecutive(result, a: str = "reference", b: str = "1-2"):
    """Rate differences (b - a) and the two periods' months, patients with both rates."""
    r = result.rates
    w = r.pivot(index="patient_id", columns="period", values="rate")
    m = r.pivot(index="patient_id", columns="period", values="months")
    ok = w[a].notna() & w[b].notna()
    return (w[b] - w[a])[ok], m[a][ok], m[b][ok]


def noise_only(s2: float, m0, m1) -> float:
    """SPEC §13: s²(1/m0² + (1/m0 + 1/m1)² + 1/m1²), averaged over patients."""
    return float((s2 * (1 / m0**2 + (1 / m0 + 1 / m1) ** 2 + 1 / m1**2)).mean())


@pytest.fixture(scope="module")
def cohort_90():
    """1,500 patients, virtual injections at day 90 then every 90 days, up to 4, 21-day
    window: SPEC §13's design."""
    study = natural_history_cohort(1500, seed=11)
    s = Settings(window_days=21)
    return natural_history_result(study, protocol=(90, 90 / MONTH, 4), settings=s)


def test_responders_in_period_1_2_about_half(cohort_90):
    # SPEC §13: 773 / 1,463 = 52.8 % at G = 90; the generator is asked for 50-55 %
    row = cohort_90.summary.set_index("period").loc["1-2"]
    assert row["n_evaluable"] > 900
    assert 48.0 <= row["responder_pct"] <= 57.0


def test_reference_rate_and_noise_like_real_natural_history(cohort_90):
    rates = cohort_90.rates
    ref = rates.loc[rates["period"] == "reference", "rate"].dropna()
    # SPEC §13: mean reference rate 0.84 points/month
    assert ref.mean() == pytest.approx(0.84, abs=0.08)
    # SPEC §13: sigma = 1.24 points (pooled residual SD of run-in fits)
    sigma, n = estimate_sigma(cohort_90.study.visits, cohort_90.study.injections)
    assert n > 1000 and sigma == pytest.approx(1.24, abs=0.12)


def test_rate_changes_beyond_noise(cohort_90):
    # SPEC §13, G = 90, reference vs 1-2: observed variance 2.54, noise only
    # s²(1/m0² + (1/m0 + 1/m1)² + 1/m1²) with s² = sigma² + 1/12, extra 1.33
    d, m0, m1 = consecutive(cohort_90)
    sigma, _ = estimate_sigma(cohort_90.study.visits, cohort_90.study.injections)
    noise = noise_only(sigma**2 + 1 / 12, m0, m1)
    assert d.var() == pytest.approx(2.54, abs=0.4)
    assert d.var() - noise == pytest.approx(1.33, abs=0.35)
    assert abs(d.mean()) < 0.15  # SPEC: mean differences -0.15 to +0.01


def test_trend_speeds_decline_up():
    # trend 1.2 points/month per year: over the ~3 months between the middles of the
    # reference (months 0-3) and period 1-2 (3-6), the mean rate rises by ~1.2 * 3/12 = 0.3
    study = natural_history_cohort(1500, seed=2, trend=1.2)
    res = natural_history_result(
        study, protocol=(90, 90 / MONTH, 2), settings=Settings(window_days=21)
    )
    d, _, _ = consecutive(res)
    assert d.mean() == pytest.approx(0.3, abs=0.1)


def test_normal_noise_and_no_wander_gives_noise_only_variance():
    # wander 0, normal noise: rate differences carry measurement noise only (SPEC §13
    # noise-only formula), so the extra variance is about 0
    study = natural_history_cohort(1500, seed=8, wander_sd=0.0, noise_df=np.inf)
    res = natural_history_result(
        study, protocol=(90, 90 / MONTH, 2), settings=Settings(window_days=21)
    )
    d, m0, m1 = consecutive(res)
    assert d.var() == pytest.approx(noise_only(1.2**2 + 1 / 12, m0, m1), rel=0.15)
