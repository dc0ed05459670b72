"""Run outputs: the HDF5 writer (hdf5.py) and reader (reader.py). Layout: docs/output.md."""
