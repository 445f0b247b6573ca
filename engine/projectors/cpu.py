"""CPU kernels of the matched voxel-driven projector pair (Numba, all cores).

Back-projection gathers, for every voxel, the bilinearly interpolated detector value where the
voxel's centre projects, weighted by the inverse square depth ratio. Forward projection is its
exact transpose: every voxel splats its value with the same four bilinear weights and the same
depth weight. Both share one clamping rule: the projection arrays carry a zero border (one pixel
before, two after, on both axes) and coordinates are clamped into it, so a voxel that projects
off the detector reads zeros / writes into the discarded border. That makes the loops
branch-free.

Arrays: ``padded[p, 1 + row, 1 + column]`` float32 of shape (n, rows + 3, columns + 3);
``mats`` (n, 3, 4) float32 from :func:`engine.projectors.matrices.projection_matrices`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint64


@njit(inline="always", fastmath=True)
def _row_bases(m, iy, iz):
    """The y and z terms of the projective map, constant along a row of x."""
    return (m[0, 1] * iy + m[0, 2] * iz + m[0, 3], m[1, 1] * iy + m[1, 2] * iz + m[1, 3],
            m[2, 1] * iy + m[2, 2] * iz + m[2, 3])


@njit(inline="always", fastmath=True)
def _voxel_setup(m, ix, bases, rows_p, cols_p):
    """(ir, ic, fr, fc, weight) where voxel ix of a row lands on a padded projection: the one
    clamping rule and the one weight that both general kernels use, so they stay transposes."""
    a0, b0, d0 = bases
    inv = np.float32(1.0) / (m[2, 0] * ix + d0)
    c = (m[0, 0] * ix + a0) * inv + np.float32(1.0)
    r = (m[1, 0] * ix + b0) * inv + np.float32(1.0)
    c = min(max(c, np.float32(0.0)), np.float32(cols_p - 2))
    r = min(max(r, np.float32(0.0)), np.float32(rows_p - 2))
    ic = np.int32(c)
    ir = np.int32(r)
    return ir, ic, r - ir, c - ic, inv * inv


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def backproject_padded(padded: np.ndarray, mats: np.ndarray, vol: np.ndarray) -> None:
    """vol[z, y, x] += Σ_p bilinear(padded[p], col, row) / depth²  (in place)."""
    nz, ny, nx = vol.shape
    n_proj, rows_p, cols_p = padded.shape
    for iz in prange(nz):
        acc = np.empty(nx, dtype=np.float32)
        for iy in range(ny):
            acc[:] = 0.0
            for p in range(n_proj):
                img = padded[p]
                m = mats[p]
                bases = _row_bases(m, iy, iz)
                for ix in range(nx):
                    ir, ic, fr, fc, w = _voxel_setup(m, ix, bases, rows_p, cols_p)
                    top = img[ir, ic] + fc * (img[ir, ic + 1] - img[ir, ic])
                    bottom = img[ir + 1, ic] + fc * (img[ir + 1, ic + 1] - img[ir + 1, ic])
                    acc[ix] += (top + fr * (bottom - top)) * w
            for ix in range(nx):
                vol[iz, iy, ix] += acc[ix]


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def splat_padded(vol: np.ndarray, mats: np.ndarray, padded: np.ndarray) -> None:
    """padded[p] += transpose of :func:`backproject_padded` applied to vol (in place)."""
    nz, ny, nx = vol.shape
    n_proj, rows_p, cols_p = padded.shape
    one = np.float32(1.0)
    for p in prange(n_proj):
        img = padded[p]
        m = mats[p]
        for iz in range(nz):
            for iy in range(ny):
                bases = _row_bases(m, iy, iz)
                for ix in range(nx):
                    value = vol[iz, iy, ix]
                    if value == 0.0:
                        continue
                    ir, ic, fr, fc, w = _voxel_setup(m, ix, bases, rows_p, cols_p)
                    w *= value
                    img[ir, ic] += w * (one - fr) * (one - fc)
                    img[ir, ic + 1] += w * (one - fr) * fc
                    img[ir + 1, ic] += w * fr * (one - fc)
                    img[ir + 1, ic + 1] += w * fr * fc


# --- The fast path: detectors whose columns are vertical (no roll or pitch) -----------------
#
# Then a voxel's column and depth do not depend on z, and its row is linear in z. For each
# (projection, x, y) the kernels set the column up once (one division) and blend the two
# detector columns it falls between into one 1-D profile (left·wl + right·wr, contiguous, so
# it vectorizes); the walk down z is then a 2-tap linear interpolation in that profile with no
# division. The z range whose rows fall inside the padded detector is solved for directly, so
# the walk needs no clamping. Rows are computed, not accumulated, as r0 + step·z in float32,
# with unsigned indices (no wraparound checks): the two kernels evaluate the same expression,
# so they give every voxel the same weights and stay each other's transpose. The
# back-projector takes tiles of TILE × TILE (x, y) columns, accumulated in a z-contiguous
# buffer that stays in cache; the splat reads a z-contiguous copy of the volume and scatters
# into two profiles (the row below and the row above each voxel), so that neighbouring slices
# never chain through the same memory cell, then spreads them onto the two columns.

TILE = 16
_ONE = uint64(1)


@njit(inline="always", fastmath=True)
def _column_setup(m, ix, iy, nz, cols_p, rows_p, inv_m12):
    """(ic, wl, wr, r0, step, lo, hi) of voxel column (ix, iy): the column's left/right weights
    (bilinear times the inverse square depth ratio), its row at z = 0 and per slice (float32),
    and the z range [lo, hi) landing inside the padded detector; hi <= lo when it misses."""
    depth = m[2, 0] * ix + m[2, 1] * iy + m[2, 3]
    inv = np.float32(1.0) / depth
    c = (m[0, 0] * ix + m[0, 1] * iy + m[0, 3]) * inv + np.float32(1.0)
    r0 = np.float64((m[1, 0] * ix + m[1, 1] * iy + m[1, 3]) * inv) + 1.0
    step = np.float64(m[1, 2] * inv)
    zero = np.float32(0.0)
    if not (c > 0.0 and c < cols_p - 2):
        return 0, zero, zero, np.float32(r0), np.float32(step), 0, 0  # off the detector
    ic = np.int32(c)
    fc = np.float32(c - np.float32(ic))
    w = inv * inv
    top = np.float64(rows_p - 2)
    # z range with 0 <= r0 + step·z <= top; 1/step = depth / m12 needs no second division
    if step != 0.0:
        inv_step = np.float64(depth) * inv_m12
        z_a = -r0 * inv_step
        z_b = (top - r0) * inv_step
        z_first = min(z_a, z_b)
        z_last = max(z_a, z_b)
        lo = max(0, int(z_first) + (1 if z_first > int(z_first) else 0)) if z_first > 0 else 0
        hi = min(nz, int(z_last) + 1) if z_last >= 0 else 0
    else:
        lo, hi = (0, nz) if (r0 >= 0.0 and r0 <= top) else (0, 0)
    return ic, np.float32(w - w * fc), np.float32(w * fc), np.float32(r0), np.float32(step), lo, hi


@njit(inline="always", fastmath=True)
def _profile_rows(r0, step, ramp, lo, hi, rows_p):
    """[j0, j1): the detector rows the walk over [lo, hi) reads or writes (rows ir and ir + 1),
    with one row to spare on each side against rounding."""
    a = r0 + step * ramp[lo]
    b = r0 + step * ramp[hi - 1]
    j0 = max(0, np.int32(min(a, b)) - 1)
    j1 = min(rows_p, np.int32(max(a, b)) + 3)
    return uint64(j0), uint64(j1)


@njit(inline="always", fastmath=True)
def _row(r0, step, ramp, iz):
    """(row index, fraction) of slice iz of a column: the one expression both kernels evaluate,
    so each voxel gets bit-identical weights in both."""
    r = r0 + step * ramp[iz]
    ir = np.int32(r)
    return uint64(ir), r - np.float32(ir)


@njit(inline="always")
def _inverse_m12(m):
    return 1.0 / np.float64(m[1, 2]) if m[1, 2] != 0.0 else 0.0


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def backproject_columns(padded_t: np.ndarray, mats: np.ndarray, vol: np.ndarray) -> None:
    """Fast-path twin of :func:`backproject_padded`; ``padded_t`` is (n, cols + 3, rows + 3)."""
    nz, ny, nx = vol.shape
    n_proj, cols_p, rows_p = padded_t.shape
    tiles_x = (nx + TILE - 1) // TILE
    tiles_y = (ny + TILE - 1) // TILE
    for tile in prange(tiles_x * tiles_y):
        y0 = (tile // tiles_x) * TILE
        x0 = (tile % tiles_x) * TILE
        y1 = min(y0 + TILE, ny)
        x1 = min(x0 + TILE, nx)
        acc = np.zeros((y1 - y0, x1 - x0, nz), dtype=np.float32)
        profile = np.zeros(rows_p, dtype=np.float32)
        ramp = np.arange(nz).astype(np.float32)
        for p in range(n_proj):
            m = mats[p]
            inv_m12 = _inverse_m12(m)
            for iy in range(y0, y1):
                for ix in range(x0, x1):
                    ic, wl, wr, r0, step, lo, hi = _column_setup(m, ix, iy, nz, cols_p, rows_p, inv_m12)
                    if hi <= lo:
                        continue
                    left = padded_t[p, ic]
                    right = padded_t[p, ic + 1]
                    j0, j1 = _profile_rows(r0, step, ramp, lo, hi, rows_p)
                    for j in range(j0, j1):
                        profile[j] = wl * left[j] + wr * right[j]
                    a = acc[iy - y0, ix - x0]
                    for iz in range(uint64(lo), uint64(hi)):
                        k, fr = _row(r0, step, ramp, iz)
                        below = profile[k]
                        a[iz] += below + fr * (profile[k + _ONE] - below)
        for iz in range(nz):
            for iy in range(y0, y1):
                for ix in range(x0, x1):
                    vol[iz, iy, ix] += acc[iy - y0, ix - x0, iz]


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def splat_columns(vol_t: np.ndarray, mats: np.ndarray, padded_t: np.ndarray) -> None:
    """Exact transpose of :func:`backproject_columns`: ``vol_t`` is the volume as (ny, nx, nz)
    (z contiguous); accumulates into ``padded_t`` (n, cols + 3, rows + 3)."""
    ny, nx, nz = vol_t.shape
    n_proj, cols_p, rows_p = padded_t.shape
    for p in prange(n_proj):
        m = mats[p]
        inv_m12 = _inverse_m12(m)
        img = padded_t[p]
        ramp = np.arange(nz).astype(np.float32)
        below = np.zeros(rows_p, dtype=np.float32)  # each voxel's share for its row ir …
        above = np.zeros(rows_p, dtype=np.float32)  # … and for row ir + 1, kept at index ir
        for iy in range(ny):
            for ix in range(nx):
                ic, wl, wr, r0, step, lo, hi = _column_setup(m, ix, iy, nz, cols_p, rows_p, inv_m12)
                if hi <= lo:
                    continue
                column = vol_t[iy, ix]
                for iz in range(uint64(lo), uint64(hi)):
                    k, fr = _row(r0, step, ramp, iz)
                    value = column[iz]
                    below[k] += value - fr * value
                    above[k] += fr * value
                left = img[ic]
                right = img[ic + 1]
                j0, j1 = _profile_rows(r0, step, ramp, lo, hi, rows_p)
                spill = np.float32(0.0)  # above[j - 1], already cleared
                for j in range(j0, j1):
                    s = below[j] + spill
                    spill = above[j]
                    below[j] = 0.0
                    above[j] = 0.0
                    left[j] += wl * s
                    right[j] += wr * s
