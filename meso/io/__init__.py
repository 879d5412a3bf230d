"""Input and output: volumes, XDMF fields and meshes, figures, the HTML report, atomic writing."""
