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

from .simd import (
    BLOCK,
    INTERLEAVE,
    blend_transpose8,
    deposit16,
    interpolate16,
    interpolate16x2,
    spread_transpose8,
)


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
# detector columns it falls between into one 1-D profile (left·wl + right·wr); the walk down z
# is then a linear interpolation in that profile with no division. The z range whose rows fall
# inside the padded detector is solved for directly, so the walk needs no clamping. Rows are
# computed, not accumulated, as r0 + step·z in float32, with unsigned indices (no wraparound
# checks).
#
# Both kernels walk LANES neighbouring columns (along x) at once, in SIMD, and set each group
# up in one place (:func:`_group_setup`), so they take the same walks and stay transposes.
# The group's rows at one z differ by less than a detector row (checked per group), so with
# base = the lowest lane's row, every lane's two taps lie among rows base, base + 1, base + 2:
# the walk reads (back-projection) or accumulates into (splat) those three rows of the group's
# profiles, stored interleaved (row-major, LANES wide), with the same linear interpolation as
# the one-column walk's (1 − fr, fr) up to float32 rounding. Every load and store is then
# contiguous across lanes; one slice of the walk is one call of a SIMD kernel of :mod:`.simd`
# (interpolate16, interpolate16x2, deposit16). A one-column walk cannot be vectorized: its
# accesses are gathers and scatters (slower than scalar code on AMD Zen). Lanes outside the
# group's common z range, and groups whose rows spread a row or more (steep cone angles), take
# the one-column walk.
#
# The back-projector builds the profiles from the detector before its walk and shares each
# walk between two projections (halving the accumulator traffic); the splat walks one
# projection, then spreads the profiles back onto the detector columns. Building and spreading
# are transposes (detector columns are contiguous along rows, profiles across lanes); they go
# eight lanes × eight rows at a time through registers (:mod:`.simd`), over whole blocks of
# rows: the detector arrays carry ROW_SLACK zero rows after each column so that a block never
# leaves its column, and the profiles as many spare rows.

LANES = 16  # columns per SIMD group (two AVX2 registers of float32)
ROW_SLACK = BLOCK  # zero rows after each column of the column kernels' detector arrays
assert LANES == INTERLEAVE == 2 * BLOCK
TILE_Y = 16  # rows of such groups per parallel task of the back-projector
_ONE = uint64(1)
_LANES = uint64(LANES)

# Layout of a group's lane state (float32): the rows at z = 0 and the steps (the back-projector
# keeps a second projection's at _SLOT), the column weights while profiles are built or spread.
# The back-projector keeps it at the start of the buffer that also holds its profiles; the
# splat keeps it in an array of its own.
_R0 = uint64(0)
_STEP = uint64(LANES)
_SLOT = uint64(2 * LANES)
_WL = uint64(4 * LANES)
_WR = uint64(5 * LANES)
_STATE = uint64(6 * LANES)  # size of the state; the back-projector's profiles follow it


def detector_columns(n: int, rows: int, cols: int) -> np.ndarray:
    """Zeroed detector images in the column kernels' layout: (n, cols + 3, rows + 3 + ROW_SLACK)
    float32, image p's pixel (row, column) at [p, 1 + column, 1 + row], the zero border of the
    module doc on both axes, then ROW_SLACK more zero rows."""
    return np.zeros((n, cols + 3, rows + 3 + ROW_SLACK), dtype=np.float32)


def to_columns(projections, out: np.ndarray | None = None) -> np.ndarray:
    """(n, rows, cols) images → a :func:`detector_columns` array holding them: a new one, or
    ``out``, one that only this function has written into (its zero border is never written,
    so only the images are copied)."""
    n, rows, cols = projections.shape
    if out is None:
        out = detector_columns(n, rows, cols)
    out[:, 1 : cols + 1, 1 : rows + 1] = np.asarray(projections).transpose(0, 2, 1)
    return out


def from_columns(columns: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """The (n, rows, cols) images inside a :func:`detector_columns` array (a view)."""
    return columns[:, 1 : cols + 1, 1 : rows + 1].transpose(0, 2, 1)


def lane_major(vol: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``vol`` (nz, ny, nx) as (ny, groups, nz, LANES), x padded with zeros to whole groups:
    the layout :func:`splat_columns` reads, each group's walk one contiguous stream. Into a new
    array, or ``out`` from an earlier call on a volume of the same shape (its padding is never
    written, so it stays zero)."""
    nz, ny, nx = vol.shape
    groups = -(-nx // LANES)
    if out is None:
        out = np.zeros((ny, groups, nz, LANES), dtype=np.float32)
    whole = nx // LANES * LANES
    view = out.transpose(2, 0, 1, 3)  # (nz, ny, groups, LANES), a view into out
    view[:, :, : nx // LANES] = vol[:, :, :whole].reshape(nz, ny, -1, LANES)
    if whole < nx:
        view[:, :, -1, : nx - whole] = vol[:, :, whole:]  # the last, partial group
    return out


@njit(inline="always", fastmath=True)
def _row(r0, step, ramp, iz):
    """(row index, fraction) of slice iz of a column: the one-column walks' row."""
    r = r0 + step * ramp[iz]
    ir = np.int32(r)
    return uint64(ir), r - np.float32(ir)


@njit(inline="always")
def _inverse_m12(m):
    return 1.0 / np.float64(m[1, 2]) if m[1, 2] != 0.0 else 0.0


@njit(inline="always", fastmath=True)
def _row_of_groups(m, iy):
    """The y-terms of a voxel row's column, row and depth: what :func:`_lane_projection` adds
    to the x-terms. Computed once per row, outside the lane loops: inside, LLVM would reload
    ``m`` for every lane (it cannot rule out that the loops' stores change it)."""
    fy = np.float64(iy)
    return m[0, 1] * fy + m[0, 3], m[1, 1] * fy + m[1, 3], m[2, 1] * fy + m[2, 3]


@njit(inline="always", fastmath=True)
def _lane_projection(m, bases, x0, offset, nx, cols_p):
    """Where the column of voxel (x0 + offset, iy) lands (``bases`` from :func:`_row_of_groups`),
    in float64 up to the row and column (their float32 rounding is then the only one): (depth,
    1/depth, column on the padded detector (float32), row of slice 0 (float64), live: the column
    is on the detector and x in the volume). Lanes past the volume's edge take the last x."""
    c_base, r_base, d_base = bases
    x = np.float64(x0) + offset
    fx = min(x, np.float64(nx - 1))
    depth = m[2, 0] * fx + d_base
    inv = 1.0 / depth
    c = np.float32((m[0, 0] * fx + c_base) * inv + 1.0)
    r0 = (m[1, 0] * fx + r_base) * inv + 1.0
    live = c > np.float32(0.0) and c < np.float32(cols_p - 2) and x < np.float64(nx)
    return depth, inv, c, r0, live


@njit(inline="always", fastmath=True)
def _group_setup(m, inv_m12, x0, iy, nx, nz, cols_p, rows_p, n_lanes, lane, st, state, offsets):
    """Set up the LANES columns x0 … of row iy for one projection: each lane's z range [z0, z1)
    (the slices whose rows fall inside the padded detector), the profile rows [j0, j1) a walk
    over it touches and its detector column ic into ``lane`` (5, LANES); its row at z = 0 and
    its step at ``st[state:]``; its column weights (bilinear times the inverse square depth
    ratio) at ``st[_WL:]`` and ``st[_WR:]``. ``offsets`` holds 0 … LANES − 1 in float64. Returns
    the common z range [lo, hi) that the SIMD walk may take, empty when a lane misses the
    detector or the rows spread a row or more, and whether that range is every lane's whole
    range (then no lane has a one-column walk).

    Usually every lane's rows stay on the detector from the first slice to the last; one pass
    then sets everything up, and only the lanes' ends are checked. Otherwise a second pass
    (:func:`_clip_z_ranges`) works out each lane's own range. Both are written without branches
    over the lanes (``n_lanes`` = LANES at run time, see :func:`backproject_columns`) so that
    LLVM vectorizes them."""
    zero = np.float32(0.0)
    top = np.float32(rows_p - 2)
    last_z = np.float32(nz - 1)
    bases = _row_of_groups(m, iy)
    off = 0  # lanes whose column misses the detector or whose rows leave it
    for k in range(n_lanes):
        _, inv, c, r0_64, live = _lane_projection(m, bases, x0, offsets[k], nx, cols_p)
        r0 = np.float32(r0_64)
        step = np.float32(m[1, 2] * inv)
        c = min(max(c, zero), np.float32(cols_p - 2))  # img[ic + 1] stays inside
        ic = np.int32(c)
        fc = c - np.float32(ic)
        w = np.float32(inv * inv) if live else zero
        # rows of the first and last slice; rows ir and ir + 1 of the walk, one to spare on each
        # side for rounding. A row in [0, top] keeps ir + 1 on the padded detector.
        low = min(r0, r0 + step * last_z)
        high = max(r0, r0 + step * last_z)
        off += 0 if (live and low >= zero and high <= top) else 1
        lane[2, k] = max(np.int32(0), np.int32(low) - np.int32(1))
        lane[3, k] = min(np.int32(rows_p), np.int32(high) + np.int32(3))
        lane[4, k] = ic
        st[state + _R0 + k] = r0
        st[state + _STEP + k] = step
        st[_WL + k] = w - w * fc
        st[_WR + k] = w * fc
    if off == 0:
        for k in range(n_lanes):
            lane[0, k] = np.int32(0)
            lane[1, k] = np.int32(nz)
        lo, hi, whole = 0, nz, True
    else:
        _clip_z_ranges(m, inv_m12, x0, iy, nx, nz, cols_p, rows_p, n_lanes, lane, st, state, offsets)
        lo, hi, whole = _common_range(lane, nz)
        if hi <= lo:
            return 0, 0, False
    for z in (np.float32(lo), np.float32(hi - 1)):  # the spread is linear in z: check both ends
        low, high = _end_rows(st, state, z)
        if abs(high - low) >= 0.99:
            return 0, 0, False
    return lo, hi, whole


@njit(inline="always", fastmath=True)
def _clip_z_ranges(m, inv_m12, x0, iy, nx, nz, cols_p, rows_p, n_lanes, lane, st, state, offsets):
    """The second pass of :func:`_group_setup`: each lane's z range [z0, z1), the slices with
    0 <= r0 + step·z <= top in float64, and its profile rows over that range (empty for a lane
    whose column misses the detector)."""
    top = np.float64(rows_p - 2)
    bases = _row_of_groups(m, iy)
    for k in range(n_lanes):
        depth, _, _, r0, live = _lane_projection(m, bases, x0, offsets[k], nx, cols_p)
        # 1/step = depth / m12 needs no second division
        inv_step = depth * inv_m12
        z_a = -r0 * inv_step
        z_b = (top - r0) * inv_step
        lo_z = min(max(np.ceil(min(z_a, z_b)), 0.0), np.float64(nz))
        hi_z = min(max(np.floor(max(z_a, z_b)) + 1.0, 0.0), np.float64(nz))
        if inv_m12 == 0.0:  # rows constant in z: all slices or none
            lo_z = 0.0
            hi_z = np.float64(nz) if (r0 >= 0.0 and r0 <= top) else 0.0
        if not live:
            hi_z = lo_z
        r0_32 = st[state + _R0 + k]
        step_32 = st[state + _STEP + k]
        a = r0_32 + step_32 * np.float32(lo_z)
        b = r0_32 + step_32 * np.float32(hi_z - 1.0)
        j0 = max(np.int32(0), np.int32(min(a, b)) - np.int32(1))
        j1 = min(np.int32(rows_p), np.int32(max(a, b)) + np.int32(3))
        lane[0, k] = np.int32(lo_z)
        lane[1, k] = np.int32(hi_z)
        lane[2, k] = j0 if hi_z > lo_z else np.int32(0)
        lane[3, k] = j1 if hi_z > lo_z else np.int32(0)


@njit(inline="always")
def _common_range(lane, nz):
    """(lo, hi, whole): the z range [lo, hi) inside every lane's, empty when a lane has none;
    whole when it is every lane's entire range."""
    lo = 0
    hi = nz
    first = nz  # the lanes' lowest start and highest end
    last = 0
    for k in range(LANES):
        lo = max(lo, np.int64(lane[0, k]))
        hi = min(hi, np.int64(lane[1, k]))
        first = min(first, np.int64(lane[0, k]))
        last = max(last, np.int64(lane[1, k]))
        if lane[1, k] <= lane[0, k]:
            return 0, 0, False
    return lo, hi, first == lo and last == hi


@njit(inline="always", fastmath=True)
def _end_rows(st, state, z):
    """Rows of the group's first and last lane at slice value z: the lowest and the highest
    (a row is monotonic along x)."""
    first = st[state + _R0] + st[state + _STEP] * z
    last = st[state + _R0 + _LANES - _ONE] + st[state + _STEP + _LANES - _ONE] * z
    return first, last


@njit(inline="always", fastmath=True)
def _group_base(st, state, prof, z):
    """(index of row ``base`` in the interleaved profile at ``prof``, base as float32) at slice
    value z: base is the lowest lane's row, i.e. that of the first or the last lane."""
    first, last = _end_rows(st, state, z)
    base = np.int32(min(first, last))
    return prof + uint64(base) * _LANES, np.float32(base)


@njit(inline="always", fastmath=True)
def _rest_ranges(lane, k, lo, hi):
    """Lane k's slices outside the common range [lo, hi), as two ranges (either may be empty)."""
    z0 = np.int64(lane[0, k])
    z1 = np.int64(lane[1, k])
    if z1 <= z0:
        return (z0, z0), (z0, z0)
    if hi <= lo:  # no SIMD walk: the whole range
        return (z0, z1), (z1, z1)
    return (z0, lo), (hi, z1)  # a non-empty [lo, hi) lies inside every lane's range


@njit(inline="always")
def _block_rows(lane, k0):
    """(j0, blocks): the union of the live lanes k0 … k0 + BLOCK − 1's row ranges starts at row
    j0 and takes ``blocks`` blocks of BLOCK rows (none when no lane is live)."""
    j0 = np.int32(1 << 30)
    j1 = np.int32(0)
    for k in range(k0, k0 + BLOCK):
        if lane[3, k] > lane[2, k]:
            j0 = min(j0, lane[2, k])
            j1 = max(j1, lane[3, k])
    first, end = uint64(j0), uint64(max(j0, j1))
    return first, (end - first + uint64(BLOCK - 1)) // uint64(BLOCK)  # unsigned: a shift


@njit(inline="always", fastmath=True)
def _build_profiles(detector, image_at, stride, lane, buf, prof):
    """Each live lane's profile, wl·img[ic] + wr·img[ic + 1], written interleaved from ``prof``
    on, for image ``detector[image_at:]`` (columns ``stride`` apart). Each half group fills whole
    blocks of BLOCK rows over the union of its lanes' row ranges; the extra rows (at most
    ROW_SLACK past the detector's, where it is zero) are never read. ``buf`` also holds the
    column weights, at _WL and _WR."""
    for k0 in range(0, LANES, BLOCK):
        j0, blocks = _block_rows(lane, k0)
        if blocks > 0:
            blend_transpose8(buf, prof + j0 * _LANES + uint64(k0), detector, image_at + j0, stride, lane[4],
                             k0, buf, _WL, _WR, blocks)


@njit(inline="always", fastmath=True)
def _spread_profiles(detector, image_at, stride, lane, st, buf):
    """Transpose of :func:`_build_profiles`: the interleaved profiles at the start of ``buf`` go
    back onto their detector columns, block by block, and are cleared on the way for the next
    group (rows outside a lane's walk are zero: they add nothing)."""
    for k0 in range(0, LANES, BLOCK):
        j0, blocks = _block_rows(lane, k0)
        if blocks > 0:
            spread_transpose8(buf, j0 * _LANES + uint64(k0), detector, image_at + j0, stride, lane[4], k0, st,
                              _WL, _WR, blocks)


@njit(inline="always", fastmath=True)
def _walk_rest(buf, state, prof, lane, ramp, acc, lo, hi):
    """The one-column walk of every lane over its own z range outside [lo, hi)."""
    for k in range(LANES):
        r0 = buf[state + _R0 + uint64(k)]
        step = buf[state + _STEP + uint64(k)]
        for first, last in _rest_ranges(lane, k, lo, hi):
            for iz in range(uint64(first), uint64(last)):
                row, fr = _row(r0, step, ramp, iz)
                below = buf[prof + row * _LANES + uint64(k)]
                acc[iz, k] += below + fr * (buf[prof + (row + _ONE) * _LANES + uint64(k)] - below)


@njit(inline="always", fastmath=True)
def _splat_rest(st, state, lane, ramp, values, column, buf, lo, hi):
    """Transpose of :func:`_walk_rest`: every lane's voxels outside [lo, hi), one column at a
    time, into the profiles at the start of ``buf``; ``values[column:]`` is the group's slice 0."""
    for k in range(LANES):
        r0 = st[state + _R0 + uint64(k)]
        step = st[state + _STEP + uint64(k)]
        for first, last in _rest_ranges(lane, k, lo, hi):
            for iz in range(uint64(first), uint64(last)):
                row, fr = _row(r0, step, ramp, iz)
                value = values[column + iz * _LANES + uint64(k)]
                buf[row * _LANES + uint64(k)] += value - fr * value
                buf[(row + _ONE) * _LANES + uint64(k)] += fr * value


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def backproject_columns(padded_t: np.ndarray, mats: np.ndarray, vol: np.ndarray, lanes: int) -> None:
    """Fast-path twin of :func:`backproject_padded`; ``padded_t`` is from :func:`detector_columns`.

    ``lanes`` must be :data:`LANES`. It is passed at run time so that LLVM sees the lane loops'
    trip count as unknown and vectorizes them; a compile-time 16 gets them unrolled into scalar
    code instead (Numba keeps LLVM's SLP vectorizer off)."""
    nz, ny, nx = vol.shape
    n_proj, cols_p, stride = padded_t.shape
    rows_p = stride - ROW_SLACK
    column_stride = uint64(stride)
    detector = padded_t.reshape(-1)
    image_size = uint64(cols_p * stride)
    n_lanes = uint64(lanes)
    groups_x = (nx + LANES - 1) // LANES
    tiles_y = (ny + TILE_Y - 1) // TILE_Y
    profile_size = uint64((stride + 4) * LANES)
    prof_a = _STATE
    prof_b = prof_a + profile_size
    state_a = uint64(0)
    state_b = _SLOT
    for task in prange(groups_x * tiles_y):
        y0 = (task // groups_x) * TILE_Y
        x0 = (task % groups_x) * LANES
        y1 = min(y0 + TILE_Y, ny)
        acc = np.zeros(TILE_Y * nz * LANES, dtype=np.float32)  # (TILE_Y, nz, LANES), flat for the walks
        tile = acc.reshape((TILE_Y, nz, LANES))
        buf = np.zeros(_STATE + uint64(2) * profile_size, dtype=np.float32)
        ramp = np.arange(nz).astype(np.float32)
        offsets = np.arange(LANES).astype(np.float64)
        lane_a = np.zeros((5, LANES), np.int32)  # per lane: z range, profile rows, column
        lane_b = np.zeros((5, LANES), np.int32)
        for p in range(0, n_proj, 2):
            two = p + 1 < n_proj
            m_a = mats[p]
            m_b = mats[p + 1] if two else m_a
            inv_a = _inverse_m12(m_a)
            inv_b = _inverse_m12(m_b)
            for iy in range(y0, y1):
                a = tile[iy - y0]
                a_at = uint64((iy - y0) * nz) * _LANES  # a[0] in acc
                lo_a, hi_a, whole_a = _group_setup(m_a, inv_a, x0, iy, nx, nz, cols_p, rows_p, n_lanes,
                                                   lane_a, buf, state_a, offsets)
                _build_profiles(detector, uint64(p) * image_size, column_stride, lane_a, buf, prof_a)
                lo_b, hi_b, whole_b = 0, 0, True
                if two:
                    lo_b, hi_b, whole_b = _group_setup(m_b, inv_b, x0, iy, nx, nz, cols_p, rows_p, n_lanes,
                                                       lane_b, buf, state_b, offsets)
                    _build_profiles(detector, uint64(p + 1) * image_size, column_stride, lane_b, buf, prof_b)
                # both projections in one SIMD walk over their common range …
                lo = max(lo_a, lo_b)
                hi = min(hi_a, hi_b)
                if hi <= lo:
                    lo = hi = 0
                lo = uint64(lo)  # unsigned: no negative-index handling on a[iz]
                hi = uint64(hi)
                for iz in range(lo, hi):
                    z = ramp[iz]
                    q_a, base_a = _group_base(buf, state_a, prof_a, z)
                    q_b, base_b = _group_base(buf, state_b, prof_b, z)
                    interpolate16x2(acc, a_at + iz * _LANES, buf, z, state_a, q_a, base_a,
                                    state_b, q_b, base_b)
                # … each alone over the rest of its own, then lane by lane outside it
                alone = ((state_a, prof_a, lo_a, hi_a), (state_b, prof_b, lo_b, hi_b))
                for state, prof, first, last in alone:
                    for iz in range(uint64(first), uint64(last)):
                        if iz >= lo and iz < hi:
                            continue
                        z = ramp[iz]
                        q, base = _group_base(buf, state, prof, z)
                        interpolate16(acc, a_at + iz * _LANES, buf, z, state, q, base)
                if not whole_a:
                    _walk_rest(buf, state_a, prof_a, lane_a, ramp, a, lo_a, hi_a)
                if not whole_b:
                    _walk_rest(buf, state_b, prof_b, lane_b, ramp, a, lo_b, hi_b)
        for iz in range(nz):
            for iy in range(y0, y1):
                for k in range(LANES):
                    if x0 + k < nx:
                        vol[iz, iy, x0 + k] += tile[iy - y0, iz, k]


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def splat_columns(vol_g: np.ndarray, nx: int, mats: np.ndarray, padded_t: np.ndarray, lanes: int) -> None:
    """Transpose of :func:`backproject_columns` (to float32 rounding of the interpolation
    weights): ``vol_g`` is the volume from :func:`lane_major`, ``nx`` its true width;
    accumulates into ``padded_t`` (from :func:`detector_columns`). ``lanes`` as there."""
    ny, groups_x, nz, _ = vol_g.shape
    n_proj, cols_p, stride = padded_t.shape
    rows_p = stride - ROW_SLACK
    column_stride = uint64(stride)
    detector = padded_t.reshape(-1)
    image_size = uint64(cols_p * stride)
    n_lanes = uint64(lanes)
    values = vol_g.reshape(-1)
    state = uint64(0)
    for p in prange(n_proj):
        m = mats[p]
        inv_m12 = _inverse_m12(m)
        image_at = uint64(p) * image_size
        st = np.zeros(_STATE, dtype=np.float32)
        buf = np.zeros((stride + 4) * LANES, dtype=np.float32)  # the group's profiles
        lane = np.zeros((5, LANES), np.int32)
        ramp = np.arange(nz).astype(np.float32)
        offsets = np.arange(LANES).astype(np.float64)
        for iy in range(ny):
            for g in range(groups_x):
                lo, hi, whole = _group_setup(m, inv_m12, g * LANES, iy, nx, nz, cols_p, rows_p, n_lanes, lane,
                                             st, state, offsets)
                column = uint64((iy * groups_x + g) * nz) * _LANES  # slice 0 of the group
                for iz in range(uint64(lo), uint64(hi)):
                    z = ramp[iz]
                    q, base = _group_base(st, state, uint64(0), z)
                    deposit16(buf, q, st, state, z, base, values, column + iz * _LANES)
                if not whole:
                    _splat_rest(st, state, lane, ramp, values, column, buf, lo, hi)
                _spread_profiles(detector, image_at, column_stride, lane, st, buf)
