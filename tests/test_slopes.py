"""The broken-stick mixed model (SPEC §14) against known truth and a direct statsmodels fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from slopes_synth import MONTH_DAYS, slope_cohort, true_terms

from msc_notebooks import analyze, load_demo, read_study
from msc_notebooks.errors import InputError
from msc_notebooks.slopes import (
    SLOPES_COLUMNS,
    STRUCTURES,
    fit_slopes,
    slope_design,
    two_stage_slopes,
)


def _study(cohort):
    return read_study(visits=cohort["visits"], injections=cohort["injections"])


def _fit(cohort, **kw):
    """The model on the generator's exact outcome (``score``: unrounded, unbounded)."""
    return fit_slopes(_study(cohort), outcome="score", **kw)


@pytest.fixture(scope="module")
def cohort60():
    return slope_cohort(60, seed=11)


def test_design_by_hand():
    """SPEC §14: t in months from T1; post_k = max(0, t - tau_k); 0 for a patient without a
    k-th injection. Month = 30 days here (a setting, SPEC §2) so that days are whole."""
    m = 30
    visits = pd.DataFrame(
        {
            "patient_id": ["A"] * 4 + ["B"] * 3,
            "day": [100 - m, 100, 100 + 2 * m, 100 + 4 * m, -m, 0, 2 * m],
            "alsfrs_r_total": [40, 39, 38, 36, 30, 30, 29],
        }
    )
    injections = pd.DataFrame(
        {"patient_id": ["A", "A", "B"], "day": [100, 100 + 3 * m, 0], "injection_number": [1, 2, 1]}
    )
    d = slope_design(read_study(visits=visits, injections=injections), month_days=30)
    a, b = d[d.patient_id == "A"], d[d.patient_id == "B"]
    np.testing.assert_allclose(a.t, [-1, 0, 2, 4])
    np.testing.assert_allclose(a.post1, [0, 0, 2, 4])
    np.testing.assert_allclose(a.post2, [0, 0, 0, 1])  # 4 - 3 months
    np.testing.assert_allclose(b.t, [-1, 0, 2])
    np.testing.assert_allclose(b.post1, [0, 0, 2])
    np.testing.assert_allclose(b.post2, [0, 0, 0])  # B has no second injection
    assert d.y.tolist() == [40, 39, 38, 36, 30, 30, 29]


def _direct_design(cohort):
    """The model's data written out here, independently of slope_design."""
    v = cohort["visits"].copy()
    inj = cohort["injections"]
    first = inj.groupby("patient_id").day.min()
    v["t"] = (v.day - v.patient_id.map(first)) / MONTH_DAYS
    for k in range(1, 5):
        tau = inj[inj.injection_number == k].set_index("patient_id").day
        tk = (v.patient_id.map(tau) - v.patient_id.map(first)) / MONTH_DAYS
        v[f"post{k}"] = np.where(tk.isna(), 0.0, np.clip(v.t - tk, 0, None))
    return v


def _sandwich(v, fit, names):
    """The cluster-robust covariance written with whole block-diagonal matrices:
    A = X'V^-1 X, B = X'V^-1 R V^-1 X with R = blockdiag(r_i r_i'), m/(m-1) A^-1 B A^-1."""
    from scipy.linalg import block_diag

    g = fit.cov_re.to_numpy()
    blocks_v, blocks_r, xs = [], [], []
    beta = fit.fe_params[names].to_numpy()
    for _, p in v.groupby("patient_id", sort=False):
        x = np.column_stack([np.ones(len(p)), p[names[1:]].to_numpy()])
        z = np.column_stack([np.ones(len(p)), p.t, p.post1])
        blocks_v.append(z @ g @ z.T + fit.scale * np.eye(len(p)))
        r = p.score.to_numpy() - x @ beta
        blocks_r.append(np.outer(r, r))
        xs.append(x)
    x = np.vstack(xs)
    vinv = np.linalg.inv(block_diag(*blocks_v))
    a = np.linalg.inv(x.T @ vinv @ x)
    b = x.T @ vinv @ block_diag(*blocks_r) @ vinv @ x
    m = len(xs)
    return pd.DataFrame(m / (m - 1) * a @ b @ a, index=names, columns=names)


def test_agrees_with_direct_statsmodels_fit(cohort60):
    """Estimates equal a statsmodels MixedLM fit written out here (REML, random intercept,
    slope and change at injection 1, correlated), with the SPEC §14 contrasts: slope:1-2 =
    -(b_t + b_post1), variance c'Vc = V_tt + V_pp + 2 V_tp; the se is the larger of the
    model-based one and the cluster-robust one (module docstring), both computed here."""
    s = _fit(cohort60)
    assert s.table.structure.iloc[0] == STRUCTURES[0][0] + "; REML"
    v = _direct_design(cohort60)
    fit = smf.mixedlm(
        "score ~ t + post1 + post2 + post3 + post4",
        v,
        groups="patient_id",
        re_formula="~t + post1",
    ).fit(reml=True)
    b, model_cov = fit.fe_params, fit.cov_params()
    names = ["Intercept", "t", "post1", "post2", "post3", "post4"]
    robust = _sandwich(v, fit, names)
    t = s.table.set_index("term")

    def se(var):
        return np.sqrt(max(var(model_cov), var(robust)))

    expected = {
        "slope:reference": (-b["t"], se(lambda c: c.loc["t", "t"])),
        "change:1": (-b["post1"], se(lambda c: c.loc["post1", "post1"])),
        "change:2": (-b["post2"], se(lambda c: c.loc["post2", "post2"])),
        "slope:1-2": (
            -(b["t"] + b["post1"]),
            se(lambda c: c.loc["t", "t"] + c.loc["post1", "post1"] + 2 * c.loc["t", "post1"]),
        ),
    }
    for term, (est, se) in expected.items():
        assert t.loc[term, "estimate"] == pytest.approx(est, abs=1e-4), term
        assert t.loc[term, "se"] == pytest.approx(se, rel=1e-3), term
        assert t.loc[term, "ci_low"] == pytest.approx(est - 1.959964 * se, abs=1e-3)
        assert t.loc[term, "ci_high"] == pytest.approx(est + 1.959964 * se, abs=1e-3)
    assert t.n_patients.iloc[0] == 60 and t.n_visits.iloc[0] == len(v)
    # per-patient BLUPs: fixed + the patient's predicted random effects (declines)
    re = pd.DataFrame(fit.random_effects).T
    p = s.patients.set_index("patient_id").loc[re.index]
    np.testing.assert_allclose(p["slope:reference"], -(b["t"] + re["t"]), atol=1e-3)
    np.testing.assert_allclose(p["change:1"], -(b["post1"] + re["post1"]), atol=1e-3)


def test_robust_se_when_later_changes_vary_between_patients():
    """The changes at injections 2-4 vary between patients (SD 0.8 points/month) but the
    model has no random term for them: the model-based se of change:2 is too small, and the
    reported se is the larger, cluster-robust one (strictly above the model-based se)."""
    s = _fit(slope_cohort(60, seed=2, sd_later=0.8))
    fit = s.fit
    model_se = np.sqrt(fit.cov_params().loc["post2", "post2"])
    reported = s.table.set_index("term").loc["change:2", "se"]
    assert reported > 1.2 * model_se


def test_no_assessment_after_any_injection():
    """Visits only up to the first injection: no knot, so only slope:reference is reported
    and the sentence says why (no change at an injection can be estimated)."""
    c = slope_cohort(12, seed=9)
    c["visits"] = c["visits"][c["visits"].day <= 0]
    s = _fit(c)
    assert s.table.term.tolist() == ["slope:reference"]
    assert "no assessment after an injection" in s.sentence


def test_recovers_known_slopes():
    """300 patients from the model: every term within 3 SE of the truth (decline 1.0 before,
    change -0.5 at injection 1, so 0.5 in 1-2; +0.1 at 2, so 0.6 in 2-3), and precise."""
    c = slope_cohort(300, seed=5)
    t = _fit(c).table.set_index("term")
    truth = true_terms(c["truth"])
    assert list(t.columns) == list(SLOPES_COLUMNS[1:])
    for term in ["slope:reference", "slope:1-2", "slope:2-3", "change:1", "change:2"]:
        est, se = t.loc[term, "estimate"], t.loc[term, "se"]
        assert abs(est - truth[term]) < 3 * se, (term, est, truth[term], se)
        assert se < 0.1
    assert t.converged.all()


def test_fallback_when_the_change_does_not_vary():
    """No patient-to-patient variation of slope or change (SDs 0): the full structure sits on
    the boundary, so the kit falls back in the documented order and says which it used."""
    c = slope_cohort(40, seed=3, sd_slope=0.0, sd_change=0.0)
    s = _fit(c)
    names = [f"{n}; REML" for n, _, _ in STRUCTURES]
    assert s.attempts.structure.tolist() == names[: len(s.attempts)]
    assert len(s.attempts) > 1 and not s.attempts.converged.iloc[0]
    assert s.table.structure.iloc[0] == s.attempts.structure.iloc[-1]
    assert s.table.converged.iloc[0] == s.attempts.converged.iloc[-1]


def test_two_stage_equals_mean_and_sem_when_designs_are_equal():
    """Patients with identical visit and injection times: every v_i is equal, so the two-stage
    estimate is the plain mean of the patients' own least-squares estimates and its robust SE
    is their SD / sqrt(n) (ddof 1). Checked with numpy lstsq and scipy.stats.sem."""
    rng = np.random.default_rng(4)
    t = np.array([-4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6], float)
    x = np.column_stack([np.ones_like(t), t, np.clip(t, 0, None), np.clip(t - 3, 0, None)])
    rows, own = [], []
    for i in range(25):
        y = 40 - rng.normal(1, 0.4) * t + rng.normal(0.5, 0.3) * x[:, 2] + rng.normal(0, 1, t.size)
        rows += [
            (f"p{i}", yy, tt, p1, p2) for yy, tt, p1, p2 in zip(y, t, x[:, 2], x[:, 3], strict=True)
        ]
        own.append(np.linalg.lstsq(x, y, rcond=None)[0])
    design = pd.DataFrame(rows, columns=["patient_id", "y", "t", "post1", "post2"])
    table, patients = two_stage_slopes(design)
    own = np.array(own)
    tt = table.set_index("term")
    for term, values in {
        "slope:reference": -own[:, 1],
        "change:1": -own[:, 2],
        "slope:1-2": -(own[:, 1] + own[:, 2]),
    }.items():
        assert tt.loc[term, "estimate"] == pytest.approx(values.mean(), abs=1e-9)
        assert tt.loc[term, "se"] == pytest.approx(stats.sem(values), rel=1e-9)
        assert tt.loc[term, "n_patients"] == 25
    assert len(patients) == 25


def test_two_stage_recovers_truth_and_agrees_with_mixed():
    """The large-cohort method on 400 patients: within 3 robust SEs of the truth, and within
    0.1 points/month of the mixed model on the same cohort."""
    c = slope_cohort(400, seed=8)
    study = _study(c)
    two = fit_slopes(study, outcome="score", method="two-stage").table.set_index("term")
    mixed = fit_slopes(study, outcome="score", method="mixed").table.set_index("term")
    truth = true_terms(c["truth"])
    for term in ["slope:reference", "slope:1-2", "change:1", "change:2"]:
        assert abs(two.loc[term, "estimate"] - truth[term]) < 3 * two.loc[term, "se"], term
        assert abs(two.loc[term, "estimate"] - mixed.loc[term, "estimate"]) < 0.1, term
    assert two.structure.iloc[0].startswith("two-stage")


def test_every_outcome_goes_through_the_same_model():
    study = load_demo()
    for outcome in ["fvc_pct", "bulbar", "respiratory"]:
        s = fit_slopes(study, outcome=outcome)
        assert s.outcome == outcome
        assert list(s.table.columns) == list(SLOPES_COLUMNS)
        treated = study.visits.patient_id.isin(study.injections.patient_id)
        assert s.table.n_visits.iloc[0] == study.visits.loc[treated, outcome].notna().sum()
    with pytest.raises(InputError, match="'weight'.*choose one of"):
        fit_slopes(study, outcome="weight")


def test_result_caches_slopes():
    r = analyze(load_demo())
    s = r.slopes()
    assert r.slopes() is s
    assert s.table.n_patients.iloc[0] == 19
    t = s.table.set_index("term")
    # CI from the SE, SPEC §14: estimate ± 1.96 se
    np.testing.assert_allclose(t.ci_high - t.estimate, 1.959964 * t.se, rtol=1e-5)


# -- faces: command line, files, report, Wizard ---------------------------------------------
def test_cli_writes_slopes_csv_by_default(tmp_path, capsys):
    from msc_notebooks.cli import main

    assert main(["analyze", "--demo", "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "Broken-stick mixed model" in out and "19 patients" in out
    table = pd.read_csv(tmp_path / "a" / "slopes.csv")
    assert list(table.columns) == list(SLOPES_COLUMNS)  # SPEC §14, exactly
    assert table.term.iloc[0] == "slope:reference" and "change:1" in set(table.term)
    assert (table.ci_low < table.estimate).all() and (table.estimate < table.ci_high).all()
    patients = pd.read_csv(tmp_path / "a" / "slopes_patients.csv", dtype={"patient_id": str})
    assert len(patients) == 19
    assert main(["analyze", "--demo", "--no-slopes", "--quiet", "--out", str(tmp_path / "b")]) == 0
    assert not (tmp_path / "b" / "slopes.csv").exists()


def test_report_has_the_slopes_section():
    from msc_notebooks.report import html_report

    page = html_report(analyze(load_demo()), figures=False)
    assert "Model-based slopes from every visit" in page
    assert "slope:reference" in page and "change:1" in page and "95 % CI" in page


def test_wizard_results_step_shows_slopes():
    from msc_notebooks.widgets import ResultsStep, WizardState

    state = WizardState()
    step = ResultsStep(state, figures=False)
    state.study = load_demo()
    assert "Broken-stick mixed model" in step.slopes_sentence.value
    assert "slope:reference" in step.slopes_table.value and "change:1" in step.slopes_table.value
    assert "msc-slopes-table" in step.slopes_table._dom_classes
    step.fit_slopes.value = False
    assert step.slopes_table.value == "" and "Not fitted" in step.slopes_sentence.value


def test_natural_history_gets_the_same_model(tmp_path):
    """SPEC §14: the model on an untreated cohort with virtual injections at the trial's
    schedule gives the no-effect change at injection (natural_history_slopes.csv)."""
    from msc_notebooks.pipeline import run_analysis
    from msc_notebooks.synthetic import natural_history_cohort

    nh = natural_history_cohort(40, seed=3, items=False)
    nh.visits[["patient_id", "day", "alsfrs_r_total"]].to_csv(tmp_path / "nh.csv", index=False)
    run_analysis(demo=True, natural_history=tmp_path / "nh.csv", out=tmp_path / "r")
    t = pd.read_csv(tmp_path / "r" / "natural_history_slopes.csv")
    assert list(t.columns) == list(SLOPES_COLUMNS)
    assert 0 < t.n_patients.iloc[0] <= 40 and "change:1" in set(t.term)
    mine = pd.read_csv(tmp_path / "r" / "slopes.csv")
    assert mine.n_patients.iloc[0] == 19  # the trial's own model is unchanged
