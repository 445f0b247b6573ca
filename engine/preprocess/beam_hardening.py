"""Beam-hardening linearization: a polynomial that maps measured to monochromatic line integrals.

A polychromatic beam hardens as it crosses material, so the measured line integral p grows
less than linearly with thickness (cupping in reconstructions). For one dominant material a
polynomial ``p ↦ c₁·p + c₂·p² + … + c_K·p^K`` fitted on a step wedge or a known sample
straightens it. There is no constant term on purpose: air (p = 0) must stay 0. The identity
``(1.0,)`` is the default and leaves data unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import FathomInputError

__all__ = ["check_beam_hardening", "linearize_beam_hardening"]


def check_beam_hardening(coefficients: Sequence[float], max_line_integral: float) -> None:
    """Raise :class:`FathomInputError` unless the polynomial rises on [0, max_line_integral].

    A correction that decreases somewhere would map two thicknesses to one value.
    """
    c = np.asarray(coefficients, dtype=np.float64).reshape(-1)
    if c.size == 0 or not np.all(np.isfinite(c)):
        raise FathomInputError(
            f"beam-hardening coefficients {tuple(coefficients)} must be finite numbers "
            "c1, c2, …: use (1.0,) for no correction"
        )
    if c.size == 1:
        if c[0] <= 0:
            raise FathomInputError(
                f"beam-hardening coefficient c1 = {c[0]} must be positive: use (1.0,) for "
                "no correction"
            )
        return
    p = np.linspace(0.0, max(float(max_line_integral), 1e-6), 257)
    slope = np.polyval(np.polyder(np.concatenate([c[::-1], [0.0]])), p)
    if np.any(slope <= 0):
        where = p[np.argmax(slope <= 0)]
        raise FathomInputError(
            f"the beam-hardening polynomial {tuple(float(x) for x in c)} stops rising at line "
            f"integral {where:.3g} (data reach {max_line_integral:.3g}): check the coefficients"
        )


def linearize_beam_hardening(
    line_integrals: np.ndarray,
    coefficients: Sequence[float] = (1.0,),
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Apply ``sum_k c_k · p^k`` for k = 1..K to line integrals p.

    Parameters
    ----------
    line_integrals : array of any shape (dimensionless, after −log). Not modified unless it is
        passed as ``out``.
    coefficients : (c1, c2, …, cK); (1.0,) is the identity.
    out : optional float32 array of the same shape to write into.

    Returns
    -------
    float32 array of the input's shape.
    """
    c = [float(x) for x in coefficients]
    if not c or not all(np.isfinite(c)):
        raise FathomInputError(
            f"beam-hardening coefficients {tuple(coefficients)} must be finite numbers c1, c2, …"
        )
    p = np.asarray(line_integrals, dtype=np.float32)
    if out is None:
        out = np.empty(p.shape, dtype=np.float32)
    if c == [1.0]:
        if out is not p:
            out[...] = p
        return out
    # Horner: p·(c1 + p·(c2 + … p·cK)); the accumulator is its own buffer so that `out` may be p
    acc = np.full(p.shape, c[-1], dtype=np.float32)
    for ck in reversed(c[:-1]):
        acc *= p
        acc += ck
    np.multiply(acc, p, out=out)
    return out
