"""Meshes of microstructures: voxel hexahedra, conforming gmsh tetrahedra, their geometry and cache."""
