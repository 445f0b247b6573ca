"""Synthetic scans with known truth: analytic phantoms, their exact projections, and the package
presets (``bga``, the demo; ``stack``, a 2.5D package; ``bga2d``, one ball plane as a sinogram)
with their truth volumes."""
