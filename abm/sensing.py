"""What a cell perceives of its neighbours (categories), and the traits cells are placed with."""
from __future__ import annotations

from .celltypes import CATEGORY, STATE, TYPE_CODE


def categorise(xp, cells):
    """Category of every live cell (celltypes.CATEGORIES), from its type, state and traits."""
    cell_type, state = cells["cell_type"], cells["state"]
    category = xp.full(cells.n, -1, dtype=xp.int8)

    def set_where(mask, name):
        nonlocal category
        category = xp.where(mask, xp.int8(CATEGORY[name]), category)

    tumor = cell_type == TYPE_CODE["tumor"]
    tumor_state = STATE["tumor"]
    epithelial = (state == tumor_state["proliferating"]) | (state == tumor_state["dormant"])
    set_where(tumor & epithelial & (cells["mesenchymal"] == 0), "tumor_epithelial")
    set_where(tumor & ((state == tumor_state["invasive"]) | ((cells["mesenchymal"] > 0) & epithelial)),
              "tumor_mesenchymal")
    set_where(tumor & (state == tumor_state["apoptotic"]), "tumor_apoptotic")
    nk = cell_type == TYPE_CODE["nk"]
    set_where(nk, "nk")
    set_where(nk & (state == STATE["nk"]["exposed"]), "nk_exposed")
    set_where(cell_type == TYPE_CODE["stellate"], "stellate")
    neutrophil = cell_type == TYPE_CODE["neutrophil"]
    set_where(neutrophil, "neutrophil_free")
    set_where(neutrophil & (state == STATE["neutrophil"]["bound"]), "neutrophil_bound")
    tcell = cell_type == TYPE_CODE["tcell"]
    set_where(tcell, "tcell_free")
    set_where(tcell & (state == STATE["tcell"]["bound"]), "tcell_bound")
    return category


def initial_traits(xp, config, cell_type: str, count: int) -> dict:
    """Columns of newly placed cells: their type, first state and type-specific traits."""
    traits = {
        "cell_type": xp.full(count, TYPE_CODE[cell_type], dtype=xp.int8),
        "state": xp.zeros(count, dtype=xp.int8),
    }
    if cell_type == "tumor":
        tumor = config.cells.tumor
        traits["vcam1"] = xp.full(count, int(tumor.vcam1_positive), dtype=xp.int8)
        traits["plxnb2"] = xp.full(count, int(tumor.plxnb2_positive), dtype=xp.int8)
        traits["clonogenicity"] = xp.full(count, tumor.colony_forming_probability, dtype=xp.float32)
        # Placed cells have not divided recently: Ki67+ only after their first division here.
        traits["cycle_clock_min"] = xp.full(count, tumor.ki67_window_h * 60.0, dtype=xp.float32)
    if cell_type == "nk":
        receptors = config.cells.nk.initial_inhibitory_receptors
        traits["inhibitory_receptors"] = xp.full(count, receptors, dtype=xp.float32)
        if receptors >= config.cells.nk.exposed_threshold:
            traits["state"] = xp.full(count, STATE["nk"]["exposed"], dtype=xp.int8)
    return traits
