"""Tomographic reconstruction: normalisation, rings, phase retrieval, rotation centre, slices, volumes."""
