"""Live recordings in HDF5: the on-disk ``format``, the ``writer`` used while live, the ``reader`` for playback."""
