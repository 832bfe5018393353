"""Root pytest configuration: shared by the doctests in msc_notebooks/ and tests/."""

import numpy as np
import pandas as pd
import pytest

# Doctests print numpy scalars as plain numbers (2.5, not np.float64(2.5)).
np.set_printoptions(legacy="1.25")


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    doctest_namespace["np"] = np
    doctest_namespace["pd"] = pd
