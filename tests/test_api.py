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


def _package_modules() -> set[str]:
    import pkgutil

    return {m.name for m in pkgutil.iter_modules(msc_notebooks.__path__) if m.name[0] != "_"}


def test_all_is_complete():
    # like altair's tests/test_toplevel.py: the public surface is exactly __all__ ...
    assert msc_notebooks.__all__ == sorted(set(msc_notebooks.__all__) - {"__version__"}) + [
        "__version__"
    ]
    assert sorted(dir(msc_notebooks)) == sorted(msc_notebooks.__all__)
    # ... and every public module of the package is in it (a new module must be added to
    # msc_notebooks._SUBMODULES); "launcher" and "data" are folders of files, not modules
    missing = _package_modules() - set(msc_notebooks.__all__) - {"launcher", "data"}
    assert not missing, f"add {sorted(missing)} to msc_notebooks._SUBMODULES"


def test_no_function_shares_a_submodule_name():
    # importing msc_notebooks.natural_history (as the pipeline does) sets the package
    # attribute to the module, so a function exported under that name was the function
    # or the module depending on what had been imported before (#17)
    assert not set(msc_notebooks._LAZY) & (_package_modules() | set(msc_notebooks._SUBMODULES))
    code = (
        "import types, msc_notebooks as msc; first = type(msc.natural_history); "
        "import msc_notebooks.pipeline, msc_notebooks.natural_history, "
        "msc_notebooks.matched_controls; "
        "print(first is types.ModuleType, isinstance(msc.natural_history, types.ModuleType), "
        "callable(msc.natural_history_responders), callable(msc.match_controls))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True", "True"], out.stderr


def test_every_submodule_is_reachable_in_a_fresh_interpreter():
    # msc.charts used to raise AttributeError in a fresh kernel
    names = sorted(set(msc_notebooks._SUBMODULES))
    code = (
        "import types, msc_notebooks as msc; "
        f"bad = [n for n in {names!r} if not isinstance(getattr(msc, n), types.ModuleType)]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_each_module_all_names_exist():
    import importlib

    for name in msc_notebooks._SUBMODULES:
        module = importlib.import_module(f"msc_notebooks.{name}")
        for public in getattr(module, "__all__", ()):
            assert hasattr(module, public), f"msc_notebooks.{name}.__all__ names {public!r}"


def _private_imports(folder, pattern="*.py") -> list[str]:
    import ast
    from pathlib import Path

    found = []
    for path in sorted(Path(folder).glob(pattern)):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level >= 1:
                for alias in node.names:
                    if alias.name.startswith("_"):
                        found.append(
                            f"{path.name}: from {'.' * node.level}{node.module} import {alias.name}"
                        )
    return found


def test_faces_import_nothing_private():
    # a face decides nothing: the widgets use the analysis' public functions only (#17)
    from pathlib import Path

    package = Path(msc_notebooks.__file__).parent
    assert _private_imports(package / "widgets") == []
    # and the analysis is assembled from documented functions only
    assert _private_imports(package, "analysis.py") == []


def test_only_the_command_line_knows_argparse():
    from pathlib import Path

    package = Path(msc_notebooks.__file__).parent
    users = sorted(
        p.relative_to(package).as_posix()
        for p in package.rglob("*.py")
        if "argparse" in p.read_text("utf-8")
    )
    assert users == ["cli.py"]
