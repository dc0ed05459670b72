"""Macrophages for tissue-abm, as a plugin: nothing under abm/ was edited to add them.

``register(spec)`` is what tissue-abm calls when a config lists this plugin
(`plugins: [macrophage]`, the entry point declared in pyproject.toml).
"""
from .macrophage import MACROPHAGE, TNF_APOPTOSIS

# The plugin's labelled parameter values: a file inside this package, in the format of
# tissue-abm's configs/parameters/tissue_model.yaml, read with importlib.resources when a scenario
# that includes the shared parameter set names this plugin (package data: see pyproject.toml).
PARAMETER_SET = "parameters.yaml"


def register(spec) -> None:
    spec.add_cell_type(MACROPHAGE)
    spec.add_rule("tumor", TNF_APOPTOSIS)  # a rule of another type: tumor cells respond to TNF-alpha
