"""Post-generation hook: the settings file made valid YAML for astral characters
(see :func:`msc_notebooks.projects.join_surrogate_escapes`)."""

from msc_notebooks.projects import join_surrogate_escapes

join_surrogate_escapes()
