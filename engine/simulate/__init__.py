"""Synthetic scans with known truth: analytic phantoms and their exact projections."""
