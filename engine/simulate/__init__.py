"""Synthetic scans with known truth: analytic phantoms, their exact projections, and the package
presets (``bga``, the demo; ``bga2d``, one ball plane as a sinogram) with their truth volumes."""
