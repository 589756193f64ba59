"""Internals of ember's checkpoint formats: zip container, pickler, unpicklers, legacy reader."""
