"""Run outputs: HDF5 writer (hdf5.py), reader (reader.py), checkpoints (checkpoint.py), resuming
(resume.py), the ParaView sidecar (xdmf.py) and file plumbing (files.py). Layout: docs/output.md."""
