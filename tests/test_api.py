"""The public surface: every exported name resolves, and importing the package is light."""

import subprocess
import sys

import msc_notebooks


def test_every_public_name_resolves():
    for name in msc_notebooks.__all__:
        assert getattr(msc_notebooks, name) is not None, name


def test_import_does_not_load_heavy_libraries():
    code = (
        "import sys, msc_notebooks; "
        "print(','.join(m for m in ('pandas', 'altair', 'ipywidgets', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_load_ipython_extension_is_reachable_from_the_package():
    # %load_ext msc_notebooks looks the function up on the package object
    assert callable(msc_notebooks.load_ipython_extension)
