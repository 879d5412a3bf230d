"""Linear elasticity: Young's modulus factors M and stress statistics on voxel and conforming meshes."""
