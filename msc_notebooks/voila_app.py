"""Voilà with the kit's offline template: ``python -m msc_notebooks.voila_app NOTEBOOK ...``.

Voilà's ``lab`` template links two Font Awesome stylesheets from cdn.jsdelivr.net on every
page: offline they fail, online they tell a third party that the app was opened. The kit
ships a template, ``msc-offline`` (``msc_notebooks/share/jupyter/voila/templates/``), that
is Voilà's ``lab`` template without those two links. This module puts the kit's
``share/jupyter`` folder on ``JUPYTER_PATH`` (where Voilà looks for templates) and starts
Voilà with ``--template=msc-offline``; the command comes from
:func:`msc_notebooks.projects.app_command`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["SHARE_DIR", "TEMPLATE", "voila_environment", "main"]

#: The kit's Jupyter data folder (holds ``voila/templates/msc-offline``).
SHARE_DIR = Path(__file__).resolve().parent / "share" / "jupyter"

#: Name of the kit's Voilà template.
TEMPLATE = "msc-offline"


def voila_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """Return ``env`` (default: this process's) with the kit's data folder on JUPYTER_PATH.

    Examples
    --------
    >>> env = voila_environment({"JUPYTER_PATH": "/x"})
    >>> env["JUPYTER_PATH"].split(os.pathsep)[0] == str(SHARE_DIR), env["JUPYTER_PATH"].endswith("/x")
    (True, True)
    >>> (SHARE_DIR / "voila" / "templates" / TEMPLATE / "index.html.j2").is_file()
    True
    """
    env = dict(os.environ if env is None else env)
    parts = [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    env["JUPYTER_PATH"] = os.pathsep.join([str(SHARE_DIR), *parts])
    return env


def main(argv: list[str] | None = None) -> None:
    """Start Voilà (arguments as for ``voila``) with the ``msc-offline`` template."""
    os.environ.update(voila_environment())
    args = list(sys.argv[1:] if argv is None else argv)
    if not any(a.startswith(("--template", "--VoilaConfiguration.template")) for a in args):
        args.append(f"--template={TEMPLATE}")
    from voila.app import main as voila_main

    sys.argv = ["voila", *args]
    voila_main()


if __name__ == "__main__":
    main()
