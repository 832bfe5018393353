"""The Results step's no-effect panel (SPEC §13), driven from Python."""

from msc_notebooks import load_demo
from msc_notebooks.widgets.results_step import ResultsStep
from msc_notebooks.widgets.state import WizardState


def test_simulate_button_attaches_the_null_and_it_follows_setting_changes():
    state = WizardState()
    state.study = load_demo()
    step = ResultsStep(state, figures=False)
    assert state.result.null is None
    assert "Not simulated yet" in step.null_table.value
    step.null_n.value = 200
    step.null_button.click()
    null = state.result.null.set_index("period")
    # observed counts are the analysis' own: 15/19 in 1-2 (SPEC "Reference figures")
    assert null.loc["1-2", "observed_responders"] == 15
    assert null.loc["1-2", "n_simulations"] == 200
    assert "expected_responders" in step.null_table.value
    assert "With no treatment effect and the natural variation of ALS decline" in (
        step.null_table.value
    )
    # a threshold change re-counts observed responders and keeps a simulation attached
    state.settings = state.settings.replace(threshold_pct=50)
    assert state.last_run == "reclassify"
    n_50 = int(state.result.summary.set_index("period").loc["1-2", "n_responders"])
    assert state.result.null.set_index("period").loc["1-2", "observed_responders"] == n_50
    assert n_50 < 15


def test_simulate_without_data_says_so():
    step = ResultsStep(WizardState(), figures=False)
    step.null_button.click()
    assert "Load data first" in step.message.value
