"""Densities are per mm^3 of tissue, a 2D lattice being a slab one site thick: a scenario moved
from 2D to 3D keeps its cells per site (issue: a 3D liver got ~50x fewer NK cells per site)."""
import pytest

from abm import TissueModel
from abm.config.sections import load_config
from abm.errors import ConfigError
from run_helpers import ROOT

LIVER = str(ROOT / "configs" / "correia2021_liver.yaml")


@pytest.mark.parametrize("shape3d", [[40, 40, 40], [50, 50, 20]])
def test_the_same_density_gives_the_same_cells_per_site_in_2d_and_3d(shape3d):
    fractions = {}
    for shape in ([200, 200], shape3d):
        model = TissueModel(LIVER, device="cpu", overrides={"lattice.shape": shape, "placement.1.count": 0})
        sites = model.lattice.n_sites
        fractions[len(shape)] = {t: model.count(t) / sites for t in ("nk", "stellate")}
    for cell_type in ("nk", "stellate"):
        assert fractions[3][cell_type] == pytest.approx(fractions[2][cell_type], rel=0.02), cell_type
    assert fractions[2]["nk"] == pytest.approx(2000 * 0.02**3, rel=0.01)  # 2000 /mm^3 at 20 um sites


def test_the_old_per_mm2_key_is_refused_with_the_conversion():
    with pytest.raises(ConfigError, match=r"placement.1: density_per_mm2 is replaced by density_per_mm3 .*1000 / "
                                          r"dx_um"):
        load_config(LIVER, {"placement.1": {"pattern": "scatter", "cell_type": "nk", "density_per_mm2": 40}})
