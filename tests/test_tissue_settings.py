"""Settings that shape outcomes are declared per tissue (configs/parameters/tissue_settings.yaml),
labelled, and the same in every study scenario and arm of that tissue; a departure is refused."""
from __future__ import annotations

import pytest

from abm.config.sections import load_config
from abm.errors import ConfigError
from abm.config.tissue import check_study, differences, load_settings
from abm.validate.studies import STUDIES, config_path


def _load(path, arm):
    return load_config(path, arm=arm, check_sources=False)[0]


@pytest.mark.parametrize("name", list(STUDIES))
def test_every_study_scenario_uses_its_tissues_declared_settings(name):
    path = config_path(STUDIES[name])
    check_study(path, _load(path, None).arms, _load)


def test_the_lung_and_liver_settings_are_declared_with_labels():
    settings = load_settings()
    assert settings["lung"]["nk_density_per_mm3"] == 6400
    assert settings["liver"]["outgrowth_cells"] == 100


def test_a_scenario_that_sets_its_own_density_is_refused(tmp_path):
    path = config_path(STUDIES["lo2020"])
    config = load_config(path, {"placement.2.density_per_mm3": 300}, check_sources=False)[0]
    found = differences(config, load_settings(), "lo2020")
    assert found == ["lo2020: nk_density_per_mm3 is 300.0, but tissue lung declares 6400 (tissue_settings.yaml)"]


def test_a_setting_without_a_label_is_a_one_line_error(tmp_path):
    bad = tmp_path / "settings.yaml"
    bad.write_text("lung:\n  duration_h: {value: 168}\n")
    with pytest.raises(ConfigError, match=r"settings.yaml: lung.duration_h: needs a value and one label"):
        load_settings(bad)
