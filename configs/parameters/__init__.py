"""The shared parameter set (tissue_model.yaml), shipped inside the package as abm.parameter_sets so that
a scenario anywhere, a plugin's own among them, can include it: `include: abm:tissue_model.yaml`."""
