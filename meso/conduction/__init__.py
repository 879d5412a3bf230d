"""Ionic conduction: microstructure factors M and tortuosity factors on voxel and conforming meshes."""
