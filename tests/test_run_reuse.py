"""A complete run is reused only when its config and the code that made it are the same as now:
a run made by other code is stale even when its config matches (abm/io/provenance.py)."""
from __future__ import annotations

import h5py

from abm.config.sections import load_config, to_yaml
from abm.io import provenance
from abm.runner import run_to_file
from abm.sweep.worker import output_state
from abm.validate.runner import _complete_with_config
from run_helpers import CONFIG, overrides

SMALL = overrides(shape=(40, 40), hours=1.0, tumor=20, nk=5)


def test_run_records_the_code_hash_and_is_reused_only_with_it(tmp_path):
    path = run_to_file(CONFIG, overrides=SMALL, out=tmp_path / "r.h5", device="cpu", progress=False,
                       log=lambda message: None)
    config_yaml = to_yaml(load_config(CONFIG, SMALL)[0])
    with h5py.File(path, "r") as f:
        assert f.attrs["code_sha256"] == provenance.code_sha256()
    assert output_state(path, config_yaml) == "complete"
    assert _complete_with_config(path, config_yaml)
    assert output_state(path, config_yaml + "\n# other") == "mismatch"

    with h5py.File(path, "r+") as f:  # as if an older version of the code had made it
        f.attrs["code_sha256"] = "0" * 64
    assert output_state(path, config_yaml) == "mismatch"
    assert not _complete_with_config(path, config_yaml)


def test_code_hash_changes_with_any_source_file(tmp_path, monkeypatch):
    package = tmp_path / "abm"
    (package / "rules").mkdir(parents=True)
    (package / "rules" / "nk.py").write_text("KILL = 0.25\n")
    monkeypatch.setattr(provenance, "_package_dirs", lambda: [package])
    provenance.code_sha256.cache_clear()
    try:
        before = provenance.code_sha256()
        (package / "rules" / "nk.py").write_text("KILL = 0.5\n")
        provenance.code_sha256.cache_clear()
        assert provenance.code_sha256() != before
    finally:
        provenance.code_sha256.cache_clear()
