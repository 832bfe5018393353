"""The demo cohort reproduces the published figures (SPEC "Reference figures")."""

import pytest

from msc_notebooks import analyze, load_demo


@pytest.fixture(scope="module")
def result():
    return analyze(load_demo())


def test_enrolment(result):
    study = result.study
    assert study.patients.patient_id.nunique() == 20
    assert int(study.patients.withdrawn.sum()) == 1
    per_patient = study.injections.groupby("patient_id").size()
    assert len(per_patient) == 19
    assert sorted(per_patient.value_counts().items()) == [(2, 7), (3, 2), (4, 10)]
    assert result.excluded_patients.reason.tolist() == ["withdrawn before the first injection"]
    # injections 3-6 months apart (SPEC §8 interval lengths)
    months = result.interval_lengths.months
    assert months.min() >= 2.95 and months.max() <= 6.05


def test_published_responders_and_improvement(result):
    s = result.summary.set_index("period")
    assert result.responders("1-2") == "15/19"
    assert result.responders("2-3") == "11/12"
    assert result.responders("3-4") == "8/10"
    assert result.responders("whole") == "13/19"
    assert s.loc["1-2", "mean_improvement_pct"] == pytest.approx(107.1, abs=0.5)
    assert s.loc["whole", "mean_improvement_pct"] == pytest.approx(47.4, abs=0.5)
    assert 0.002 <= s.loc["whole", "wilcoxon_p"] <= 0.006


def test_published_clinical_improvement(result):
    c = result.clinical.set_index("cycle")
    assert c.loc[1, "n_improved"] == 7
    assert (c.loc[1, "improved_change_min"], c.loc[1, "improved_change_max"]) == (1, 4)
    assert c.loc[2, "n_improved"] == 5


def test_response_relates_to_interval(result):
    # "Response correlated with the interval between injections": shorter is better
    rho = result.intervals.set_index("scope").loc["all", "rho"]
    assert rho < -0.2


def test_no_serious_adverse_events(result):
    assert result.safety is not None
    assert result.safety.serious.empty
    assert result.safety.sentence.startswith("No serious adverse events in 19 treated patients")
    assert set(result.safety.by_term.severity) == {"mild"}


def test_demo_says_it_is_synthetic():
    from msc_notebooks.demo import DEMO_DIR

    assert "synthetic" in (DEMO_DIR / "README.md").read_text().lower()
    import msc_notebooks.demo as demo

    assert "SYNTHETIC" in demo.__doc__


def test_scores_are_valid_alsfrs_r(result):
    v = result.study.visits
    assert v.alsfrs_r_total.between(0, 48).all()
    assert (v.alsfrs_r_total == v.alsfrs_r_total.round()).all()
    items = v[[f"q{i}" for i in range(1, 13)]]
    assert (items.sum(axis=1) == v.alsfrs_r_total).all()
    assert result.study.ledger.rows_excluded.sum() == 0
