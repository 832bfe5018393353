"""Rebuild the Binder environment as repo2docker would, then use it in a real browser.

1. The repository's files (tracked and not-ignored, as they are in the working tree) are
   copied to a temp folder: repo2docker builds from a checkout, and ``postBuild`` writes
   into the repository folder.
2. A fresh venv (``python -m venv``) gets ``pip install --no-cache-dir -r
   binder/requirements.txt`` run from the copy's root, as repo2docker does (the line ``.``
   installs the kit itself, with its Launcher cards as shared data).
3. ``binder/postBuild`` runs with ``NB_PYTHON_PREFIX`` set to the venv.
4. JupyterLab is started from the venv's Python with the install's own settings folder
   (no test overrides): the news and update checks must be off through ``postBuild``.
   The browser opens the Binder link's notebook (``lab/tree/msc-demo-study/guided.ipynb``)
   and runs the same checks as the JupyterLab test; the Launcher must show the kit's cards.

Python: ``binder/runtime.txt`` asks for 3.12. $MSC_BINDER_PYTHON is used when set; else a
Python 3.12 when one is found (``python3.12`` on PATH, or a pyenv 3.12); otherwise this
machine's Python 3.11, and the test output says so (every pin must install on both).
Nothing is cached outside the test's temp folder (``--no-cache-dir``).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from msc_e2e import (
    GUIDED_CARD,
    LAUNCHER_SECTION,
    REPO_ROOT,
    TEACHING_CARD,
    installed_card_configs,
    start_lab,
)
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

BADGE_PATH = "msc-demo-study/guided.ipynb"


def _version(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    major, minor = out.stdout.split()
    return int(major), int(minor)


def binder_python() -> tuple[str, str]:
    """A Python for the venv: 3.12 as runtime.txt asks when there is one, else 3.11."""
    wanted = (REPO_ROOT / "binder" / "runtime.txt").read_text().strip()
    assert wanted == "python-3.12", wanted
    chosen = os.environ.get("MSC_BINDER_PYTHON")
    if chosen:
        version = _version(chosen)
        assert version is not None, f"MSC_BINDER_PYTHON={chosen} does not run"
        return chosen, f"Python {version[0]}.{version[1]} from MSC_BINDER_PYTHON"
    candidates = [
        shutil.which("python3.12"),
        *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12"))),
    ]
    for c in candidates:
        if c and _version(c) == (3, 12):
            return c, "Python 3.12, as binder/runtime.txt asks"
    for c in (shutil.which("python3.11"), sys.executable):
        if c and _version(c) == (3, 11):
            return c, "Python 3.11: no Python 3.12 on this machine (Binder itself uses 3.12)"
    pytest.fail("neither Python 3.12 nor 3.11 found for the Binder venv")


def copy_checkout(dest: Path) -> Path:
    """Copy the repository's tracked and not-ignored files (working-tree content)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        ignore = shutil.ignore_patterns(
            ".git", "test-artifacts", "__pycache__", "*.egg-info", ".*_cache", "build", "dist"
        )
        shutil.copytree(REPO_ROOT, dest, ignore=ignore)
        return dest
    for rel in filter(None, out.stdout.decode().split("\0")):
        src = REPO_ROOT / rel
        if not src.is_file():  # deleted in the working tree
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    return dest


def run(cmd: list[str], cwd: Path, env: dict[str, str], log: Path, timeout: float) -> float:
    """Run a build step; fail with the end of its log. Returns seconds taken."""
    started = time.monotonic()
    with open(log, "w") as fh:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed ({proc.returncode}):\n{log.read_text()[-6000:]}")
    return time.monotonic() - started


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    """A fresh venv built from binder/requirements.txt, with binder/postBuild run."""
    base = tmp_path_factory.mktemp("binder")
    repo = copy_checkout(base / "repo")
    python, why = binder_python()
    venv = base / "venv"
    env = os.environ.copy()
    for key in ("PYTHONPATH", "VIRTUAL_ENV", "PIP_USER", "PYTHONHOME"):
        env.pop(key, None)
    env["PIP_NO_CACHE_DIR"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    timings = {}
    timings["venv"] = run([python, "-m", "venv", str(venv)], base, env, base / "venv.log", 300)
    vpy = str(venv / "bin" / "python")
    timings["pip install"] = run(
        [vpy, "-m", "pip", "install", "--no-cache-dir", "-r", "binder/requirements.txt"],
        repo,
        env,
        base / "pip.log",
        1800,
    )
    build_env = dict(env)
    build_env["NB_PYTHON_PREFIX"] = str(venv)
    build_env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    timings["postBuild"] = run(
        ["bash", "binder/postBuild"], repo, build_env, base / "postBuild.log", 600
    )
    print(
        f"\nBinder venv: {why} ({python}); "
        + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
    )
    return {"base": base, "repo": repo, "venv": venv, "python": vpy, "why": why}


def test_binder_requirements_pin_everything():
    """Every requirement line is pinned with == (or is the kit itself, '.')."""
    lines = [
        line.split("#")[0].strip()
        for line in (REPO_ROOT / "binder" / "requirements.txt").read_text().splitlines()
    ]
    reqs = [x for x in lines if x]
    assert "." in reqs, "binder/requirements.txt must install the kit itself (a line '.')"
    unpinned = [x for x in reqs if x != "." and "==" not in x]
    assert not unpinned, unpinned
    names = {x.split("==")[0].split("[")[0].lower() for x in reqs if "==" in x}
    for needed in ("jupyterlab", "ipywidgets", "pandas", "altair", "anywidget", "voila"):
        assert needed in names, needed
    assert "jupyter-app-launcher" in names or "jupyter_app_launcher" in names
    # every runtime dependency of the kit is pinned too (regenerate when pyproject changes)
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    missing = [
        d
        for d in project["dependencies"]
        if canonicalize_name(Requirement(d).name) not in {canonicalize_name(n) for n in names}
    ]
    assert not missing, f"not pinned in binder/requirements.txt (re-run pip-compile): {missing}"
    post = REPO_ROOT / "binder" / "postBuild"
    assert os.access(post, os.X_OK) and post.read_text().startswith("#!/bin/bash\n")
    assert "set -e" in post.read_text()


@pytest.mark.binder
@pytest.mark.browser
def test_binder_build_then_lab_in_browser(binder_env, browser_page):
    started = time.monotonic()
    venv: Path = binder_env["venv"]
    repo: Path = binder_env["repo"]
    overrides = venv / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert overrides.is_file(), "postBuild did not write overrides.json"
    assert (repo / BADGE_PATH).is_file(), "postBuild did not create the demo study"
    assert installed_card_configs(binder_env["python"]), "Launcher cards not installed"

    server = start_lab(repo, binder_env["base"] / "home", python=binder_env["python"])
    try:
        # overrides.json becomes the schema defaults the settings API serves
        schema = server.get_json("/lab/api/settings/@jupyterlab/apputils-extension:notification")[
            "schema"
        ]["properties"]
        assert schema["fetchNews"]["default"] == "false", schema["fetchNews"]
        assert schema["checkForUpdates"]["default"] is False, schema["checkForUpdates"]

        bp = browser_page
        bp.open_lab(server, BADGE_PATH)  # what the README's Binder link opens
        path = bp.wait_notebook_ready("guided")
        assert path.lstrip("/") == BADGE_PATH
        assert bp.kernel_dialogs == 0
        assert bp.count(".jp-toast-container .Toastify__toast") == 0, "a toast is shown"
        out = bp.check_guided_notebook()
        # The cards come from the venv's shared data (installed by the line '.').
        bp.open_launcher()
        assert LAUNCHER_SECTION in bp.launcher_section_titles()
        for title in (GUIDED_CARD, TEACHING_CARD):
            assert bp.launcher_card(title).count() == 1, title
        bp.screenshot("launcher")
        bp.requests.assert_local()
    finally:
        server.stop()
    print(
        f"Binder env ({binder_env['why']}): browser checks {time.monotonic() - started:.1f} s, "
        f"{out['figures']} figures"
    )
