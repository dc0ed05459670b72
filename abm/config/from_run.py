"""The `from_run` placement: cells of one type carried from another run's last snapshot.

It chains protocols the way a lab does: NK cells pre-cultured with tumor cells are moved into an
organoid co-culture; the organoid's surviving tumor cells are dissociated and plated at clonal
density. The cells keep the columns the entry names (e.g. their inhibitory receptors); every
other column starts as for newly placed cells of the type.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..configtypes import NonNegative, Positive, Strict

# Bookkeeping that belongs to the new run: never carried.
NOT_CARRIED = ("id", "site", "cell_type", "clone")


class FromRunPlacement(Strict):
    pattern: Literal["from_run"]
    cell_type: str = Field(description="cell type taken from the source run and placed here")
    file: str = Field(description="source run (HDF5), completed; '{seed}' (or '{seed:03d}') is replaced by "
                                  "this run's seed; a relative path is read from the working directory")
    states: list[str] | None = Field(
        None, description="take only source cells in these states of the type (default: every state)")
    columns: list[str] = Field(
        default_factory=list, description="agent columns carried with each cell (e.g. inhibitory_receptors, "
                                          "state); the others start as for newly placed cells")
    layout: Literal["scatter", "clonal", "groups"] = Field(
        description="scatter: `count` cells on random free sites within the radii around the centre; "
                    "clonal: one cell per block of block_um x block_um (x block_um), as many as fit; "
                    "groups: the source's groups of touching cells (this type with its escorts), each moved "
                    "whole to a random free spot (abm/core/placement/groups.py)")
    count: Annotated[int, Field(ge=0)] | None = Field(
        None, description="cells placed, drawn at random from the source's (scatter: required; clonal: "
                          "at most, default all that fit; groups: required, whole groups drawn while the "
                          "cells of this type stay within it); fewer source cells place fewer")
    escorts: list[str] = Field(
        default_factory=list, description="groups: cell types carried with the groups they touch (placed "
                                          "free: they bind again by their own rule)")
    min_spacing_um: NonNegative = Field(0.0, description="groups: least distance between group centres, um")
    inner_radius_um: NonNegative = Field(0.0, description="scatter: only sites at least this far from the centre")
    outer_radius_um: Positive | None = Field(None, description="scatter: only sites at most this far from the centre")
    center_um: list[float] | None = Field(None, description="scatter: centre in micrometres; default lattice centre")
    block_um: Positive | None = Field(None, description="clonal: side of the block that holds one cell, um")

    @model_validator(mode="after")
    def _layout_keys(self):
        if self.layout in ("scatter", "groups") and self.count is None:
            raise ValueError(f"layout {self.layout} needs count")
        if self.layout != "groups" and (self.escorts or self.min_spacing_um):
            raise ValueError("escorts and min_spacing_um are for layout groups")
        if self.layout == "groups" and (self.outer_radius_um is not None or self.inner_radius_um or self.center_um
                                        or self.block_um is not None):
            raise ValueError("layout groups places whole groups anywhere: radii, center_um and block_um are not its")
        if self.layout == "clonal" and self.block_um is None:
            raise ValueError("layout clonal needs block_um")
        if self.layout == "clonal" and (self.outer_radius_um is not None or self.inner_radius_um or self.center_um):
            raise ValueError("layout clonal fills the whole lattice: radii and center_um are for layout scatter")
        try:
            self.file.format(seed=0)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"file {self.file!r}: only the placeholder {{seed}} is known ({error})") from None
        return self

    def blocks(self, lattice) -> int:
        side = max(1, int(round(self.block_um / lattice.dx_um)))
        count = 1
        for n in lattice.shape:
            count *= n // side
        return count

    def cells(self, lattice) -> int:
        """The most cells this entry can place (the source may hold fewer)."""
        if self.layout in ("scatter", "groups"):
            return self.count
        fit = self.blocks(lattice)
        return fit if self.count is None else min(self.count, fit)

    def source(self, seed: int) -> Path:
        return Path(self.file.format(seed=seed))


def check_names(entry: FromRunPlacement, spec, key: str) -> None:
    """The carried columns and the states exist in this model."""
    for i, name in enumerate(entry.columns):
        if name not in spec.columns or name in NOT_CARRIED:
            allowed = ", ".join(c for c in spec.columns if c not in NOT_CARRIED)
            raise ValueError(f"{key}.columns.{i}: {name!r} cannot be carried (columns: {allowed})")
    for i, name in enumerate(entry.escorts):
        if name not in spec.state:
            raise ValueError(f"{key}.escorts.{i}: no cell type {name!r} in this model (types: {', '.join(spec.state)})")
    states = spec.state.get(entry.cell_type, {})
    for i, name in enumerate(entry.states or ()):
        if name not in states:
            raise ValueError(f"{key}.states.{i}: {entry.cell_type} has no state {name!r} (states: {', '.join(states)})")


def check_source_exists(entry: FromRunPlacement, seed: int, key: str) -> None:
    path = entry.source(seed)
    if not path.is_file():
        raise ValueError(f"{key}.file: source run {path} not found (run its protocol first)")
