"""Run outputs: HDF5 writer (hdf5.py), reader (reader.py), checkpoints (checkpoint.py), resuming
(resume.py), the ParaView sidecar (xdmf.py), file plumbing (files.py), and the check of a file's
metadata in a child process that cannot hang on damage (probe.py). Layout: docs/output.md."""
