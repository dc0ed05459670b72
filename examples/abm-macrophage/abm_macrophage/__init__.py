"""Macrophages for tissue-abm, as a plugin: nothing under abm/ was edited to add them.

``register(spec)`` is what tissue-abm calls when a config lists this plugin
(`plugins: [macrophage]`, the entry point declared in pyproject.toml).
"""
from .macrophage import MACROPHAGE, TNF_APOPTOSIS


def register(spec) -> None:
    spec.add_cell_type(MACROPHAGE)
    spec.add_rule("tumor", TNF_APOPTOSIS)  # a rule of another type: tumor cells respond to TNF-alpha
