"""The projector pair: DESIGN.md's geometry convention, exact adjointness, ROIs and subsets."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import FathomInputError
from engine.geometry import ScanGeometry, VolumeGeometry, default_volume
from engine.projectors import back_project, forward_project, projection_matrices
from engine.simulate.analytic import Ellipsoid, project, voxelize


def _geometry(beam: str, tilt=(0.0, 0.0, 0.0), n=37) -> ScanGeometry:
    return ScanGeometry(
        beam,
        np.linspace(0, 2 * np.pi, n, endpoint=False),
        (24, 32),
        (0.1, 0.1),
        40.0,
        200.0,
        detector_offset_mm=(0.13, -0.21),
        rotation_axis_offset_mm=0.17,
        detector_tilt_rad=tilt,
    )


def test_vectors_follow_the_design_convention():
    sod, sdd, t = 40.0, 200.0, 0.7
    g = ScanGeometry("cone", [t], (10, 20), (0.2, 0.1), sod, sdd)
    src, det, u, v = np.split(g.vectors()[0], 4)
    np.testing.assert_allclose(src, [sod * np.sin(t), -sod * np.cos(t), 0], atol=1e-12)
    np.testing.assert_allclose(det, [-(sdd - sod) * np.sin(t), (sdd - sod) * np.cos(t), 0], atol=1e-12)
    np.testing.assert_allclose(u, [0.1 * np.cos(t), 0.1 * np.sin(t), 0], atol=1e-12)
    np.testing.assert_allclose(v, [0, 0, -0.2], atol=1e-12)


@pytest.mark.parametrize("beam", ["cone", "parallel"])
def test_a_point_up_and_right_lands_top_and_right_on_the_detector(beam):
    # At angle 0 the source is at -y, the detector at +y, u = +x and rows run downward:
    # a point at +x, +z must appear at a higher column and a lower (upper) row.
    g = ScanGeometry(beam, [0.0], (101, 101), (0.1, 0.1), 50.0, 100.0)
    vol = VolumeGeometry((1, 1, 1), 0.05, center_mm=(1.0, 0.0, 2.0))  # (z, y, x)
    m = projection_matrices(g, vol)[0]
    col, row, depth = m @ [0, 0, 0, 1]
    mag = 2.0 if beam == "cone" else 1.0
    assert col / depth == pytest.approx(50 + 2.0 * mag / 0.1)
    assert row / depth == pytest.approx(50 - 1.0 * mag / 0.1)


@pytest.mark.parametrize("beam", ["cone", "parallel"])
@pytest.mark.parametrize("tilt", [(0.0, 0.0, 0.0), (0.02, 0.03, -0.01)], ids=["upright", "tilted"])
@pytest.mark.parametrize("roi", [False, True], ids=["full", "roi"])
def test_back_projection_is_the_exact_adjoint_of_forward_projection(beam, tilt, roi):
    rng = np.random.default_rng(1)
    g = _geometry(beam, tilt)
    vol = default_volume(g)
    if roi:
        vol = vol.sub_volume((2, 3, 5), (7, 9, 11))
    x = rng.random(vol.shape, dtype=np.float32)
    y = rng.random((g.n_projections, *g.detector_shape), dtype=np.float32)
    ax = forward_project(x, vol, g, device="cpu")
    aty = back_project(y, g, vol, device="cpu")
    lhs = np.sum(ax.astype(np.float64) * y)
    rhs = np.sum(x.astype(np.float64) * aty)
    assert abs(lhs - rhs) / (np.linalg.norm(ax) * np.linalg.norm(y)) < 1e-5


@pytest.mark.parametrize("beam", ["cone", "parallel"])
def test_forward_projection_approximates_exact_line_integrals(beam):
    g = ScanGeometry(beam, np.linspace(0, np.pi, 12, endpoint=False), (48, 64), (0.1, 0.1), 40.0, 80.0)
    vol = default_volume(g)
    shapes = [Ellipsoid((0.2, -0.1, 0.1), (0.9, 0.7, 0.8), 0.5, rotation_deg=20)]
    exact = project(shapes, g)
    ours = forward_project(voxelize(shapes, vol, supersample=3), vol, g, device="cpu")
    # Voxel-driven bilinear splatting aliases a little where the voxel grid beats against the
    # detector grid (peaks of ~9 %), but it is unbiased: ~1 % mean error inside the shadow.
    inside = exact > 0.5 * exact.max()
    assert np.linalg.norm(ours - exact) / np.linalg.norm(exact) < 0.06
    assert np.mean(np.abs(ours - exact)[inside]) < 0.015 * exact.max()
    assert abs(ours.sum() / exact.sum() - 1) < 0.01


def test_projection_subsets_match_the_full_set():
    g = _geometry("cone")
    vol = default_volume(g)
    x = np.random.default_rng(2).random(vol.shape, dtype=np.float32)
    full = forward_project(x, vol, g, device="cpu")
    subset = forward_project(x, vol, g, indices=slice(1, None, 3), device="cpu")
    np.testing.assert_allclose(subset, full[1::3], rtol=1e-5, atol=1e-6)


def test_an_roi_projects_like_the_full_volume_with_zeros_outside():
    g = _geometry("cone")
    vol = default_volume(g)
    roi = vol.sub_volume((4, 5, 6), (8, 10, 9))
    x = np.random.default_rng(3).random(roi.shape, dtype=np.float32)
    embedded = np.zeros(vol.shape, dtype=np.float32)
    embedded[4:12, 5:15, 6:15] = x
    a = forward_project(x, roi, g, device="cpu")
    b = forward_project(embedded, vol, g, device="cpu")
    assert np.abs(a - b).max() <= 1e-4 * np.abs(b).max()


def test_asking_for_a_gpu_that_is_not_there_says_what_to_do():
    from engine.backend import gpu_status

    if gpu_status()[0]:
        pytest.skip("a GPU is present")
    g = _geometry("parallel")
    vol = default_volume(g)
    with pytest.raises(FathomInputError, match="--device cpu"):
        forward_project(np.zeros(vol.shape, np.float32), vol, g, device="gpu")


@pytest.mark.gpu
@pytest.mark.parametrize("beam", ["cone", "parallel"])
@pytest.mark.parametrize("roi", [False, True], ids=["full", "roi"])
def test_gpu_projectors_compute_the_cpu_operator(beam, roi):
    import cupy as cp

    rng = np.random.default_rng(4)
    g = _geometry(beam, tilt=(0.02, 0.0, 0.0))  # tilted: both devices run the general kernel
    vol = default_volume(g)
    if roi:
        vol = vol.sub_volume((2, 3, 5), (7, 9, 11))
    x = rng.random(vol.shape, dtype=np.float32)
    y = rng.random((g.n_projections, *g.detector_shape), dtype=np.float32)
    for op, arg in ((forward_project, (x, vol, g)), (back_project, (y, g, vol))):
        on_cpu = op(*arg, device="cpu")
        on_gpu = cp.asnumpy(op(*arg, device="gpu"))
        assert np.linalg.norm(on_gpu - on_cpu) / np.linalg.norm(on_cpu) <= 1e-4
    # and the upright geometry, where the CPU takes its column fast path
    g = _geometry(beam)
    vol = default_volume(g)
    x = rng.random(vol.shape, dtype=np.float32)
    y = rng.random((g.n_projections, *g.detector_shape), dtype=np.float32)
    for op, arg in ((forward_project, (x, vol, g)), (back_project, (y, g, vol))):
        on_cpu = op(*arg, device="cpu")
        on_gpu = cp.asnumpy(op(*arg, device="gpu"))
        assert np.linalg.norm(on_gpu - on_cpu) / np.linalg.norm(on_cpu) <= 1e-4


@pytest.mark.gpu
@pytest.mark.parametrize("beam", ["cone", "parallel"])
def test_gpu_pair_is_adjoint(beam):
    rng = np.random.default_rng(5)
    g = _geometry(beam)
    vol = default_volume(g).sub_volume((1, 2, 3), (9, 11, 13))
    x = rng.random(vol.shape, dtype=np.float32)
    y = rng.random((g.n_projections, *g.detector_shape), dtype=np.float32)
    ax = forward_project(x, vol, g, device="gpu", to_host=True)
    aty = back_project(y, g, vol, device="gpu", to_host=True)
    lhs = np.sum(ax.astype(np.float64) * y)
    rhs = np.sum(x.astype(np.float64) * aty)
    assert abs(lhs - rhs) / (np.linalg.norm(ax) * np.linalg.norm(y)) < 1e-5


def test_vectors_are_astras_cone_geometry_with_rows_stored_top_first():
    astra = pytest.importorskip("astra")
    angles = np.linspace(0, 2 * np.pi, 5, endpoint=False)
    g = ScanGeometry("cone", angles, (6, 8), (0.2, 0.1), 40.0, 200.0)
    kind, ours = g.astra_vectors()
    theirs = astra.functions.geom_2vec(
        astra.create_proj_geom("cone", 0.1, 0.2, 6, 8, angles, 40.0, 160.0)
    )["Vectors"]
    assert kind == "cone_vec"
    np.testing.assert_allclose(ours[:, :9], theirs[:, :9], atol=1e-9)
    np.testing.assert_allclose(ours[:, 9:], -theirs[:, 9:], atol=1e-9)  # our rows run downward


@pytest.mark.parametrize("voxel_mm", [0.015, 0.13], ids=["fine", "coarse"])
@pytest.mark.parametrize("flip_rows", [False, True], ids=["rows-down", "rows-up"])
def test_the_column_fast_path_is_the_general_kernel(voxel_mm, flip_rows):
    # The fast path walks each voxel column down z, carrying rows in registers; it must give
    # exactly the general kernels' operator, whether a slice moves less than a row (fine voxels),
    # several rows (coarse: the walk skips rows) or up the detector instead of down.
    from engine.projectors import cpu

    g = _geometry("cone")
    rows, cols = g.detector_shape
    vol = VolumeGeometry((11, 9, 10), voxel_mm, center_mm=(0.05, -0.1, 0.08))
    mats = projection_matrices(g, vol)
    if flip_rows:
        mats[:, 1, :] = (rows - 1) * mats[:, 2, :] - mats[:, 1, :]
    mats = mats.astype(np.float32)
    rng = np.random.default_rng(4)
    x = rng.random(vol.shape, dtype=np.float32)
    general = np.zeros((g.n_projections, rows + 3, cols + 3), np.float32)
    cpu.splat_padded(x, mats, general)
    columns = cpu.detector_columns(g.n_projections, rows, cols)
    cpu.splat_columns(cpu.lane_major(x), vol.shape[2], mats, columns, cpu.LANES)
    inside = (slice(None), slice(1, rows + 1), slice(1, cols + 1))  # the border is discarded
    np.testing.assert_allclose(cpu.from_columns(columns, rows, cols), general[inside], rtol=1e-4,
                               atol=1e-4 * general.max())

    y = np.zeros_like(general)
    y[:, 1 : rows + 1, 1 : cols + 1] = rng.random((g.n_projections, rows, cols), dtype=np.float32)
    back_general = np.zeros(vol.shape, np.float32)
    cpu.backproject_padded(y, mats, back_general)
    back_columns = np.zeros(vol.shape, np.float32)
    cpu.backproject_columns(cpu.to_columns(y[inside]), mats, back_columns, cpu.LANES)
    np.testing.assert_allclose(back_columns, back_general, rtol=1e-4, atol=1e-4 * back_general.max())


def _lane_row_spread(mats: np.ndarray, shape) -> np.ndarray:
    """Per (projection, row of x-groups): how far apart (in detector rows) the first and the last
    column of each full group of cpu.LANES columns project, at the top or bottom slice."""
    from engine.projectors import cpu

    nz, ny, nx = shape
    x = np.arange(0, nx - cpu.LANES + 1, cpu.LANES)

    def rows(ix, z):
        v = np.stack(np.broadcast_arrays(ix[:, None], np.arange(ny)[None, :], z, 1.0))
        h = np.einsum("pij,j...->pi...", mats.astype(np.float64), v)
        return h[:, 1] / h[:, 2]

    spreads = [np.abs(rows(x + cpu.LANES - 1, z) - rows(x, z)) for z in (0, nz - 1)]
    return np.maximum(*spreads)


@pytest.mark.parametrize("source_object_mm", [400.0, 6.0], ids=["lanes-within-a-row", "steep-cone"])
@pytest.mark.parametrize("center_z_mm", [0.02, 0.5, -0.5], ids=["overhangs-both", "above", "below"])
def test_the_simd_walks_are_the_general_kernels(source_object_mm, center_z_mm):
    # Both column kernels walk 16 neighbouring columns at once when their rows differ by less than
    # a detector row and column by column otherwise. Either way, with groups cut by the volume's
    # edge (53 = 3 × 16 + 5 columns), lanes that miss the detector (the volume is wider than the
    # field of view), slices beyond one or both of its ends, and an odd number of projections (the
    # last one walks alone in the back-projector, not in a pair), each must be the general
    # kernel's operator.
    from engine.projectors import cpu

    g = ScanGeometry("cone", np.linspace(0, 2 * np.pi, 7, endpoint=False), (40, 48), (0.1, 0.1),
                     source_object_mm, 2 * source_object_mm)
    vol = VolumeGeometry((44, 21, 53), 0.05, center_mm=(center_z_mm, -0.03, 0.04))
    mats = projection_matrices(g, vol).astype(np.float32)
    spread = _lane_row_spread(mats, vol.shape)
    if source_object_mm > 100:
        assert spread.max() < 0.5  # every group that lands whole walks in SIMD …
    else:
        assert spread.max() > 1.5 and spread.min() < 0.5  # … here only some do

    rows, cols = g.detector_shape
    y = np.zeros((g.n_projections, rows + 3, cols + 3), np.float32)
    y[:, 1 : rows + 1, 1 : cols + 1] = np.random.default_rng(8).random((g.n_projections, rows, cols),
                                                                       dtype=np.float32)
    general = np.zeros(vol.shape, np.float32)
    cpu.backproject_padded(y, mats, general)
    lanes = np.zeros(vol.shape, np.float32)
    inside = (slice(None), slice(1, rows + 1), slice(1, cols + 1))  # the border is discarded
    cpu.backproject_columns(cpu.to_columns(y[inside]), mats, lanes, cpu.LANES)
    assert np.count_nonzero(general) > 0.5 * general.size
    np.testing.assert_allclose(lanes, general, rtol=1e-4, atol=1e-5 * general.max())

    x = np.random.default_rng(9).random(vol.shape, dtype=np.float32)
    general = np.zeros_like(y)
    cpu.splat_padded(x, mats, general)
    lanes = cpu.detector_columns(g.n_projections, rows, cols)
    cpu.splat_columns(cpu.lane_major(x), vol.shape[2], mats, lanes, cpu.LANES)
    assert np.count_nonzero(general[inside]) > 0.5 * general[inside].size
    np.testing.assert_allclose(cpu.from_columns(lanes, rows, cols), general[inside], rtol=1e-4,
                               atol=1e-5 * general.max())


def test_a_projector_keeps_each_subsets_plan_and_work_arrays_apart():
    """One projector called again and again, as a solver does, with other images each time and
    subsets of other sizes: what it keeps between calls (plans, the column kernels' work
    arrays) leaks nothing from one call into the next."""
    from engine.projectors import Projector

    g = _geometry("cone")
    vol = VolumeGeometry((6, 21, 27), 0.12)  # x not a whole number of SIMD groups
    rng = np.random.default_rng(5)
    projector = Projector(g, vol, "cpu")
    for indices in (slice(0, None, 3), slice(1, None, 3), slice(0, None, 3), None, slice(1, None, 3)):
        x = rng.random(vol.shape, dtype=np.float32)
        np.testing.assert_array_equal(projector.forward(x, indices),
                                      forward_project(x, vol, g, indices=indices, device="cpu"))
        n = len(range(g.n_projections)[indices or slice(None)])
        y = rng.random((n, *g.detector_shape), dtype=np.float32)
        np.testing.assert_array_equal(projector.back(y, indices),
                                      back_project(y, g, vol, indices=indices, device="cpu"))
