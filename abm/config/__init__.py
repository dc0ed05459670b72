"""Config files and the model they build: the sections and their validation (sections.py), reading
and overrides (files.py), parameter sets and tissue settings (parameters.py, tissue.py), plugins
and the spec they assemble (plugins.py), cells carried from other runs (from_run.py), the JSON
Schema (schema.py), units of keys (describe.py), therapies that cannot act (therapy_check.py)."""
