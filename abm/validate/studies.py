"""The studies: which scenario config holds each study's arms, the protocol stages around them,
and (configs/criteria/<name>.yaml, design.py) the criteria its runs are judged by."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@dataclass(frozen=True)
class Stage:
    """A protocol step around a study's arms, one ordinary run each (abm/validate/protocol.py)."""

    name: str  # its folder under the study's runs
    config: str  # file name in configs/
    metrics: str = "assay"  # after the arms: "assay" (colonies) or "run" (every read-out, as "<name>.<key>")


@dataclass(frozen=True)
class Study:
    name: str  # also its criteria file's: configs/criteria/<name>.yaml
    config: str  # file name in configs/
    before: Stage | None = None  # one run per seed; the arms' from_run placements read it
    after: Stage | None = None  # one run per arm and seed, reading that arm's run; its metrics join the arm's


STUDIES = {
    study.name: study for study in (
        Study("chan2020", "chan2020_organoid.yaml",
              before=Stage("preculture", "chan2020_preculture.yaml"),
              after=Stage("colony_assay", "chan2020_colony_assay.yaml")),
        Study("lo2020", "lo2020_ctc_clusters.yaml"),
        Study("correia2021", "correia2021_liver.yaml"),
        Study("szczerba2019", "szczerba2019_neutrophils.yaml"),
        Study("nw2025_seeding", "northwestern2025_seeding.yaml"),
        Study("nw2025_clustering", "northwestern2025_clustering.yaml",
              after=Stage("lung_seeding", "northwestern2025_lung_seeding.yaml", metrics="run")),
    )
}


def config_path(study: Study | Stage, root: Path | None = None) -> Path:
    return (root or CONFIGS) / study.config
