"""Start JupyterLab and Voilà on a study with offline-safe settings.

This is what ``msc-notebooks lab`` and ``msc-notebooks app`` call: :func:`lab_command` /
:func:`start_lab` and :func:`app_command` / :func:`start_app`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import MscError
from .projects import templates_dir

__all__ = ["OFFLINE_LAB_ARGS", "app_command", "lab_command", "start_app", "start_lab", "stop"]

#: JupyterLab options that keep it from fetching anything on its own (news, updates).
OFFLINE_LAB_ARGS: tuple[str, ...] = (
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    "--ServerApp.ip=127.0.0.1",
)


def lab_command(directory: str | os.PathLike[str] = ".") -> list[str]:
    """Return the command that starts JupyterLab on a folder, offline-safe.

    No news feed and no update check (``--LabApp.news_url=None``, the
    ``NeverCheckForUpdate`` class), listening on 127.0.0.1 only; ``--allow-root`` when
    run as root (a container), where JupyterLab would otherwise exit at once.

    Parameters
    ----------
    directory : path, default '.'
        The folder JupyterLab opens (its root directory).

    Returns
    -------
    list of str
        An argument list for :func:`subprocess.run`.

    Examples
    --------
    >>> cmd = lab_command("/tmp")
    >>> cmd[1:3], "--LabApp.news_url=None" in cmd, "--ServerApp.root_dir=/tmp" in cmd
    (['-m', 'jupyterlab'], True, True)
    """
    root = Path(directory).expanduser().absolute()
    if root.exists() and not root.is_dir():
        raise MscError(f"{root} is not a folder; give the folder to open in JupyterLab")
    # as root (common in containers) JupyterLab exits at once without --allow-root
    as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    return [
        sys.executable,
        "-m",
        "jupyterlab",
        *OFFLINE_LAB_ARGS,
        *as_root,
        f"--ServerApp.root_dir={root}",
    ]


def _serve(cmd: list[str]) -> int:
    """Run a server until it stops; a SIGTERM or SIGINT sent to us is passed on to it.

    Without this, stopping ``msc-notebooks lab`` (or ``app``) would leave the JupyterLab
    (or Voilà) process running on its own.
    """
    import signal
    import threading

    proc = subprocess.Popen(cmd)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda signum, _frame: proc.send_signal(signum))
    try:
        return proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stop(proc)


def stop(proc: subprocess.Popen, grace: float = 15) -> None:
    """Stop a server process: terminate, and kill it if it has not ended after ``grace`` s.

    Examples
    --------
    >>> proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    >>> stop(proc); proc.poll() is not None
    True
    """
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def start_lab(directory: str | os.PathLike[str] = ".", extra_args: Sequence[str] = ()) -> int:
    """Start JupyterLab on a folder (blocks until it is stopped) and return its exit status.

    Parameters
    ----------
    directory : path, default '.'
        The folder to open; see :func:`lab_command`.
    extra_args : sequence of str
        More JupyterLab options, for example ``["--no-browser", "--port=8899"]``.

    Returns
    -------
    int
        JupyterLab's exit status.

    Examples
    --------
    >>> start_lab("/no/such/folder")  # doctest: +SKIP
    """
    root = Path(directory).expanduser().absolute()
    if not root.is_dir():
        raise MscError(f"folder {root} not found; create it or give an existing folder")
    return _serve([*lab_command(root), *extra_args])


def _default_app_notebook() -> Path:
    here = Path.cwd() / "guided.ipynb"
    if here.is_file():
        return here
    return templates_dir() / "msc-study" / "{{cookiecutter._folder_name}}" / "guided.ipynb"


def app_command(notebook: str | os.PathLike[str] | None = None) -> list[str]:
    """Return the command that serves a notebook as a Voilà app (no code shown).

    Parameters
    ----------
    notebook : path, optional
        The notebook; default ``guided.ipynb`` in the current folder, else the guided
        study template (which runs on the demo cohort).

    Returns
    -------
    list of str
        An argument list for :func:`subprocess.run`; Voilà listens on 127.0.0.1.

    Examples
    --------
    >>> cmd = app_command(templates_dir() / "msc-teaching" / "{{cookiecutter._folder_name}}" / "lesson.ipynb")
    >>> cmd[1:3], cmd[3].endswith("lesson.ipynb"), "--Voila.ip=127.0.0.1" in cmd
    (['-m', 'msc_notebooks.voila_app'], True, True)
    """
    path = Path(notebook).expanduser().absolute() if notebook else _default_app_notebook()
    if not path.is_file():
        raise MscError(f"notebook {path} not found; give the .ipynb file to serve")
    # msc_notebooks.voila_app: Voila with the kit's offline template (no Font Awesome CDN)
    return [sys.executable, "-m", "msc_notebooks.voila_app", str(path), "--Voila.ip=127.0.0.1"]


def start_app(
    notebook: str | os.PathLike[str] | None = None, extra_args: Sequence[str] = ()
) -> int:
    """Serve a notebook with Voilà (blocks until stopped) and return its exit status.

    Parameters
    ----------
    notebook : path, optional
        See :func:`app_command`.
    extra_args : sequence of str
        More Voilà options, for example ``["--no-browser", "--port=8866"]``.

    Returns
    -------
    int
        Voilà's exit status.

    Examples
    --------
    >>> start_app("missing.ipynb")
    Traceback (most recent call last):
    ...
    msc_notebooks.errors.MscError: notebook .../missing.ipynb not found; give the .ipynb file to serve
    """
    return _serve([*app_command(notebook), *extra_args])
