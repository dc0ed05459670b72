"""Synthetic per-run metrics for the validation's criteria: every key `run_metrics` returns, drawn
from a seeded generator, so a criterion can be fed runs whose truth the test knows."""
from __future__ import annotations

import numpy as np

from abm.config.sections import load_config
from abm.validate.studies import STUDIES, config_path

KEYS = ("caspase_any", "area_fold_change", "inverse_circularity", "cells_outside_organoid", "colonies",
        "lesions", "lesion_burden", "polyclonal_lesions", "seeded_lesions", "seeded_polyclonal_lesions",
        "seeded_monoclonal_lesions", "largest_lesion_ever", "first_outgrowth_h",
        "seeded_tumor_cells", "clusters_final", "kill_probability_single", "kill_probability_clustered",
        "ki67_neutrophil_clusters_24h", "ki67_single_24h", "ki67_all_24h", "ki67_seeded_24h", "nk_initial", "nk_final",
        "nk_at_first_outgrowth", "tumor_final", "kills", "kills_single_n", "contacts_single_n",
        "kills_clustered_n", "contacts_clustered_n", "end_h")


def synthetic_run(rng, **fixed) -> dict:
    """One run's metrics: plausible random values, `fixed` overriding any of them."""
    run = {key: float(rng.uniform(1, 10)) for key in KEYS}
    run.update(caspase_any=float(rng.random() < 0.5), lesions=float(rng.integers(1, 10)), end_h=336.0,
               first_outgrowth_h=float(rng.uniform(50, 300)), kill_probability_single=float(rng.uniform(0.2, 0.4)),
               kill_probability_clustered=float(rng.uniform(0.05, 0.15)), ki67_all_24h=float(rng.uniform(0.5, 0.9)),
               ki67_seeded_24h=float(rng.uniform(0.2, 0.6)),
               seeded_tumor_cells=200.0)
    for count in ("colonies", "lesion_burden", "clusters_final", "largest_lesion_ever", "kills"):
        run[count] = float(rng.integers(1, 10))  # counts are whole numbers
    run["polyclonal_lesions"] = float(rng.integers(0, run["lesions"] + 1))
    run["seeded_lesions"] = float(rng.integers(1, 10))
    run["seeded_polyclonal_lesions"] = float(rng.integers(0, run["seeded_lesions"] + 1))
    run["seeded_monoclonal_lesions"] = run["seeded_lesions"] - run["seeded_polyclonal_lesions"]
    run.update(fixed)
    return run


def synthetic_study(name, n=12, seed=0, **by_arm) -> dict:
    """{arm: [n synthetic runs]} for every arm of a study's config; by_arm[arm] is a function
    (rng, index) -> dict of fixed values for that arm's runs."""
    rng = np.random.default_rng(seed)
    arms = load_config(config_path(STUDIES[name]))[0].arms
    return {arm: [synthetic_run(rng, **(by_arm[arm](rng, i) if arm in by_arm else {})) for i in range(n)]
            for arm in arms}
