"""The finite-element layer below every solver: DOLFINx compatibility, PETSc options, shared integrals."""
