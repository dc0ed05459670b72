"""The registry of studies: which scenario config holds each study's arms, and its criteria."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable


CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _criteria():
    """abm.validate.criteria on first use: it imports scipy.stats (~0.7 s), and this registry is
    read by every `abm` command line (the study names in `abm validate --help`)."""
    from . import criteria

    return criteria


@dataclass(frozen=True)
class Stage:
    """A protocol step around a study's arms, one ordinary run each (abm/validate/protocol.py)."""

    name: str  # its folder under the study's runs
    config: str  # file name in configs/


@dataclass(frozen=True)
class Study:
    name: str
    config: str  # file name in configs/
    check: Callable  # (results by arm, validation config) -> list[Check]
    before: Stage | None = None  # one run per seed; the arms' from_run placements read it
    after: Stage | None = None  # one run per arm and seed, reading that arm's run; its metrics join the arm's


STUDIES = {
    study.name: study for study in (
        Study("chan2020", "chan2020_organoid.yaml", lambda r, v: _criteria().chan2020(r),
              before=Stage("preculture", "chan2020_preculture.yaml"),
              after=Stage("colony_assay", "chan2020_colony_assay.yaml")),
        Study("lo2020", "lo2020_ctc_clusters.yaml", lambda r, v: _criteria().lo2020(r)),
        Study("correia2021", "correia2021_liver.yaml", lambda r, v: _criteria().correia2021(r, v.outgrowth_cells)),
        Study("szczerba2019", "szczerba2019_neutrophils.yaml", lambda r, v: _criteria().szczerba2019(r)),
        Study("nw2025_seeding", "northwestern2025_seeding.yaml", lambda r, v: _criteria().northwestern2025_seeding(r)),
        Study("nw2025_clustering", "northwestern2025_clustering.yaml",
              lambda r, v: _criteria().northwestern2025_clustering(r)),
    )
}


def config_path(study: Study | Stage, root: Path | None = None) -> Path:
    return (root or CONFIGS) / study.config
