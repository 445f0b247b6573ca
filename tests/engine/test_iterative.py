"""Penalized weighted least squares: the penalty, the weights, the solver, the preview ROI."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import FathomInputError
from engine.fdk import fdk
from engine.geometry import ScanGeometry, default_volume
from engine.iterative import IterativeParams, iterative, prepare_preview, resolve_knobs
from engine.iterative.penalty import TOTAL_NEIGHBOUR_WEIGHT, penalty_gradient, penalty_value
from engine.iterative.solver import subset_order
from engine.iterative.weights import noise_model
from engine.progress import Cancelled, CancelToken
from engine.projectors import footprint, forward_project
from engine.scan import Scan
from engine.simulate.analytic import Box, Ellipsoid, project, voxelize

SHAPES = [
    Ellipsoid((0.0, 0.0, 0.0), (2.6, 2.4, 1.2), 0.05),               # mold-like body
    Box((0.6, 0.3, 0.0), (0.9, 0.7, 0.5), 0.3),                       # a copper-like block
    Ellipsoid((-1.1, -0.7, 0.1), (0.55, 0.55, 0.55), 0.6),            # a solder ball ...
    Ellipsoid((-1.1, -0.7, 0.1), (0.22, 0.22, 0.22), -0.6),           # ... with a void
]
PHOTONS = 3000


def _geometry(n_angles: int = 90) -> ScanGeometry:
    return ScanGeometry("cone", np.arange(n_angles) * 2 * np.pi / n_angles, (40, 80), (0.2, 0.2),
                        100.0, 300.0)


@pytest.fixture(scope="module")
def noisy_scan():
    geometry = _geometry()
    exact = project(SHAPES, geometry, supersample=(2, 2))
    counts = np.random.default_rng(1).poisson(PHOTONS * np.exp(-exact))
    measured = -np.log(np.maximum(counts, 1) / PHOTONS).astype(np.float32)
    scan = Scan(measured, geometry, values="line_integrals")
    volume = default_volume(geometry)
    truth = voxelize(SHAPES, volume, supersample=3)
    start = fdk(scan, volume)
    return scan, volume, truth, start


def _rmse(a, b) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


# -- the penalty --------------------------------------------------------------------------------
@pytest.mark.parametrize("potential", ["huber", "fair"])
def test_penalty_gradient_is_the_derivative_of_the_penalty(potential):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.05, (5, 6, 7)).astype(np.float32)
    x[2:, 3:, :] += 0.4  # an edge, so both regimes of the potential are exercised
    delta = 0.03
    gradient, _ = penalty_gradient(x, delta, potential)
    for index in [(0, 0, 0), (2, 3, 4), (4, 5, 6), (1, 2, 3), (3, 3, 0)]:
        step = 1e-3
        up, down = x.astype(np.float64).copy(), x.astype(np.float64).copy()
        up[index] += step
        down[index] -= step
        numeric = (penalty_value(up.astype(np.float32), delta, potential)
                   - penalty_value(down.astype(np.float32), delta, potential)) / (2 * step)
        assert gradient[index] == pytest.approx(numeric, rel=2e-2, abs=2e-4)


@pytest.mark.parametrize("potential", ["huber", "fair"])
def test_penalty_value_sums_each_neighbour_pair_once(potential):
    from engine.iterative.penalty import HALF_NEIGHBOURHOOD, NEIGHBOUR_WEIGHTS

    rng = np.random.default_rng(1)
    x = rng.normal(0, 0.05, (4, 5, 19)).astype(np.float32)
    x[:, 2:, 7:] += 0.4
    delta = 0.03
    nz, ny, nx = x.shape
    expected = 0.0
    for (dz, dy, dx), weight in zip(HALF_NEIGHBOURHOOD, NEIGHBOUR_WEIGHTS, strict=True):
        a = x[max(0, -dz):nz - max(0, dz), max(0, -dy):ny - max(0, dy), max(0, -dx):nx - max(0, dx)]
        b = x[max(0, dz):nz - max(0, -dz), max(0, dy):ny - max(0, -dy), max(0, dx):nx - max(0, -dx)]
        t = np.abs(a.astype(np.float64) - b)
        if potential == "huber":
            psi = np.where(t <= delta, 0.5 * t * t, delta * t - 0.5 * delta * delta)
        else:
            psi = delta * delta * (t / delta - np.log1p(t / delta))
        expected += weight * psi.sum()
    assert penalty_value(x, delta, potential) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("potential", ["huber", "fair"])
@pytest.mark.parametrize("shape", [(4, 5, 19), (3, 1, 6), (2, 4, 1), (1, 1, 2)])
def test_penalty_gradient_and_curvature_sum_over_the_neighbours_inside(potential, shape):
    """Per voxel, Σ ω ψ'(t) and 2 Σ ω ψ'(t)/t over the 26 neighbours that exist, against a NumPy
    sum over offsets: the volume's faces, edges and corners, and rows of one or two voxels."""
    rng = np.random.default_rng(2)
    x = rng.normal(0, 0.05, shape).astype(np.float32)
    x[..., shape[2] // 2:] += 0.4
    delta = 0.03
    nz, ny, nx = shape
    padded = np.pad(x.astype(np.float64), 1)
    inside = np.pad(np.ones(shape), 1)
    gradient = np.zeros(shape)
    curvature = np.zeros(shape)
    for dz, dy, dx in np.ndindex(3, 3, 3):
        steps = (dz - 1) ** 2 + (dy - 1) ** 2 + (dx - 1) ** 2
        if steps == 0:
            continue
        other = padded[dz:dz + nz, dy:dy + ny, dx:dx + nx]
        t = x - other
        a = np.abs(t)
        huber = potential == "huber"
        relaxed = np.minimum(1.0, delta / np.maximum(a, 1e-30)) if huber else 1 / (1 + a / delta)
        w = inside[dz:dz + nz, dy:dy + ny, dx:dx + nx] / np.sqrt(steps) * relaxed
        gradient += w * t
        curvature += 2 * w
    got_gradient, got_curvature = penalty_gradient(x, delta, potential)
    np.testing.assert_allclose(got_gradient, gradient, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_curvature, curvature, rtol=1e-5)


def test_huber_curvature_is_exactly_quadratic_below_delta_and_bounded():
    flat = np.full((4, 4, 4), 0.2, dtype=np.float32)
    _, curvature = penalty_gradient(flat, 0.01, "huber")
    assert curvature[1:-1, 1:-1, 1:-1] == pytest.approx(2 * TOTAL_NEIGHBOUR_WEIGHT, rel=1e-5)
    edge = flat.copy()
    edge[:, :, 2:] = 1.0
    _, curvature = penalty_gradient(edge, 0.01, "huber")
    assert np.all(curvature <= 2 * TOTAL_NEIGHBOUR_WEIGHT + 1e-4)
    assert curvature[1, 1, 1] < 2 * TOTAL_NEIGHBOUR_WEIGHT  # the edge's pairs are relaxed


def test_subsets_cover_every_projection_once_and_spread_out():
    groups = subset_order(90, 6)
    assert sorted(np.concatenate(groups).tolist()) == list(range(90))
    firsts = [int(g[0]) for g in groups]
    assert abs(firsts[1] - firsts[0]) >= 2  # consecutive subsets are far apart in angle


# -- weights ------------------------------------------------------------------------------------
def test_weights_find_the_photon_count_from_the_data(noisy_scan):
    scan, *_ = noisy_scan
    noise = noise_model(scan.projections)
    assert noise.photon_scale == pytest.approx(PHOTONS, rel=0.15)
    assert noise.typical_weight < noise.photon_scale  # rays through the sample count less
    assert noise.weights(scan.projections).shape == scan.projections.shape


# -- the detector window the preview works on ---------------------------------------------------
def test_a_detector_window_sees_exactly_the_crop_of_the_full_detector():
    geometry = _geometry(12)
    volume = default_volume(geometry).sub_volume((10, 20, 25), (8, 16, 12))
    rng = np.random.default_rng(3)
    x = rng.random(volume.shape).astype(np.float32)
    full = forward_project(x, volume, geometry, device="cpu")
    r0, c0, rows, cols = footprint(geometry, volume)
    assert rows < geometry.detector_shape[0] and cols < geometry.detector_shape[1]
    window = forward_project(x, volume, geometry.detector_window(r0, c0, rows, cols), device="cpu")
    np.testing.assert_allclose(window, full[:, r0:r0 + rows, c0:c0 + cols], rtol=1e-5, atol=1e-6)
    outside = full.copy()
    outside[:, r0:r0 + rows, c0:c0 + cols] = 0
    assert np.abs(outside).max() == 0  # nothing falls outside the footprint


# -- the solver ---------------------------------------------------------------------------------
def test_edge_preserving_pwls_beats_fdk_on_a_noisy_scan(noisy_scan):
    scan, volume, truth, start = noisy_scan
    records = []
    result = iterative(scan, volume, IterativeParams(edge_preservation=0.01, smoothing=20.0, iterations=12),
                       initial=start, on_iteration=lambda record, image: records.append(record))
    assert _rmse(result.data, truth) < 0.5 * _rmse(start.data, truth)
    assert result.data.min() >= 0
    history = result.recipe["history"]
    assert len(history) == 12 == len(records)
    assert history[-1]["objective"] < history[0]["objective"]
    assert result.recipe["iterative"]["edge_preservation"] == 0.01
    # the residual ends near the noise level (calibrated weights)
    assert 0.7 < history[-1]["data_residual"] < 1.3


def test_without_smoothing_the_solver_fits_the_data_below_the_noise(noisy_scan):
    scan, volume, truth, start = noisy_scan
    result = iterative(scan, volume, IterativeParams(edge_preservation=1.0, smoothing=0.0, iterations=8),
                       initial=start)
    residuals = [h["data_residual"] for h in result.recipe["history"]]
    assert residuals[-1] < residuals[0]
    assert residuals[-1] < 1.0  # overfitting the noise: why β exists


def test_auto_knobs_are_resolved_and_recorded(noisy_scan):
    scan, volume, truth, start = noisy_scan
    result = iterative(scan, volume, IterativeParams(iterations=6), initial=start)
    chosen = result.recipe["iterative"]
    assert isinstance(chosen["edge_preservation"], float) and chosen["edge_preservation"] > 0
    assert isinstance(chosen["smoothing"], float) and chosen["smoothing"] >= 0
    assert "rule" in result.recipe["auto"]["edge_preservation"]
    assert result.recipe["auto"]["smoothing"]["suggested_smoothing"] == chosen["smoothing"]
    assert _rmse(result.data, truth) < _rmse(start.data, truth)


# -- the preview ROI ----------------------------------------------------------------------------
def test_the_preview_roi_matches_the_full_reconstruction_inside(noisy_scan):
    scan, volume, truth, start = noisy_scan
    params = IterativeParams(edge_preservation=0.01, smoothing=20.0, iterations=20)
    full = iterative(scan, volume, params, initial=start)
    roi_start, roi_shape = (10, 14, 14), (16, 32, 32)
    preview = prepare_preview(scan, volume, roi_start, roi_shape, background=start)
    roi = preview.reconstruct(params)
    block = tuple(slice(s, s + n) for s, n in zip(roi_start, roi_shape, strict=True))
    inner = (slice(3, -3),) * 3  # away from the ROI's faces (free boundary there)
    reference = full.data[block][inner]
    difference = _rmse(roi.data[inner], reference)
    # the preview is within a quarter of the FDK's own error of the full iterative result
    assert difference < 0.25 * _rmse(start.data[block][inner], truth[block][inner])
    assert roi.data.shape == roi_shape


def test_the_background_keeps_the_rois_material_out_of_its_smoothing():
    from engine.iterative.preview import _smooth_outside

    # a layer that ends exactly at the ROI's top face: dense up to slice 9, light above
    background = np.full((20, 24, 24), 0.2, dtype=np.float32)
    background[:10] = 1.0
    inside = (slice(4, 10), slice(6, 18), slice(6, 18))
    outside = _smooth_outside(background, inside)
    assert np.all(outside[inside] == 0)
    # just above the face, the background is the light material only: smoothing across the face
    # would have lifted it towards the dense layer (to 0.37), and the ROI's face slice would
    # have lost what the background gained
    assert outside[10, 9:15, 9:15] == pytest.approx(0.2, abs=1e-3)
    assert outside[2, 12, 12] == pytest.approx(1.0, abs=1e-3)  # far from the ROI and the layer's
    assert outside[17, 12, 12] == pytest.approx(0.2, abs=1e-3)  # edge: the background itself


def test_the_strip_suggests_a_smoothing_and_measures_each_preview(noisy_scan):
    scan, volume, truth, start = noisy_scan
    preview = prepare_preview(scan, volume, (10, 14, 14), (16, 40, 40), background=start)
    suggestion = preview.suggest_edge_preservation()
    assert 0 < suggestion.delta < 0.2 and suggestion.noise_sigma > 0 and suggestion.contrast > 0
    strip = preview.smoothing_strip(suggestion.delta, count=3, iterations=6)
    assert len(strip.images) == len(strip.metrics) == 3
    assert 0 <= strip.suggested < 3
    noise = [m["noise_sigma"] for m in strip.metrics]
    assert noise[0] > noise[-1]  # more smoothing, less noise
    residual = [m["discrepancy"] for m in strip.metrics]
    assert residual[0] < residual[-1]  # ... and a worse fit to the data


def test_the_strip_shows_each_preview_while_it_is_computed(noisy_scan):
    scan, volume, truth, start = noisy_scan
    preview = prepare_preview(scan, volume, (10, 14, 14), (16, 40, 40), background=start)
    seen = []
    strip = preview.smoothing_strip(0.02, [5.0, 80.0], iterations=3, on_preview=seen.append)
    # each preview after each of its iterations, then once more when it is measured
    assert [(s.index, s.iteration, s.done) for s in seen] == [
        (0, 1, False), (0, 2, False), (0, 3, False), (0, 3, True),
        (1, 1, False), (1, 2, False), (1, 3, False), (1, 3, True)]
    assert all(s.iterations == 3 and s.image.shape == (16, 40, 40) for s in seen)
    assert [s.smoothing for s in seen] == [5.0] * 4 + [80.0] * 4
    for k, last in ((0, seen[3]), (1, seen[7])):
        assert last.metrics == strip.metrics[k]
        np.testing.assert_array_equal(last.image, strip.images[k])
    # the image of an unfinished preview is the iterate then, not a view that changes later
    assert not np.array_equal(seen[0].image, seen[2].image)


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "changes, message",
    [
        ({"smoothing": -1.0}, "beta"),
        ({"edge_preservation": 0.0}, "delta"),
        ({"edge_preservation": "sharp"}, "delta"),
        ({"iterations": 0}, "iterations"),
    ],
)
def test_invalid_knobs_are_clear_errors(changes, message):
    with pytest.raises(FathomInputError, match=message):
        resolve_knobs(IterativeParams(**changes))


def test_a_preview_roi_outside_the_volume_is_a_clear_error(noisy_scan):
    scan, volume, truth, start = noisy_scan
    with pytest.raises(FathomInputError, match="ROI"):
        prepare_preview(scan, volume, (0, 0, 0), (volume.shape[0] + 1, 8, 8), background=start)


def test_raw_counts_are_refused():
    geometry = _geometry(8)
    scan = Scan(np.full((8, 40, 80), 1000.0, dtype=np.float32), geometry, values="counts")
    with pytest.raises(FathomInputError, match="preprocessing"):
        iterative(scan)


def test_cancel_stops_the_run(noisy_scan):
    scan, volume, truth, start = noisy_scan
    token = CancelToken()

    def stop_after_first(record, image):
        token.cancel()

    with pytest.raises(Cancelled):
        iterative(scan, volume, IterativeParams(edge_preservation=0.01, smoothing=20.0, iterations=10),
                  initial=start, cancel=token, on_iteration=stop_after_first)


# -- GPU ----------------------------------------------------------------------------------------
@pytest.mark.gpu
def test_gpu_penalty_matches_cpu():
    import cupy as cp

    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.05, (9, 10, 11)).astype(np.float32)
    for potential in ("huber", "fair"):
        g_cpu, c_cpu = penalty_gradient(x, 0.03, potential)
        g_gpu, c_gpu = penalty_gradient(cp.asarray(x), 0.03, potential)
        np.testing.assert_allclose(g_gpu.get(), g_cpu, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(c_gpu.get(), c_cpu, rtol=1e-4, atol=1e-6)
        assert penalty_value(cp.asarray(x), 0.03, potential) == pytest.approx(
            penalty_value(x, 0.03, potential), rel=1e-4)


@pytest.mark.gpu
def test_gpu_iterative_matches_cpu(noisy_scan):
    scan, volume, truth, start = noisy_scan
    params = IterativeParams(edge_preservation=0.01, smoothing=20.0, iterations=4)
    cpu = iterative(scan, volume, params, initial=start, device="cpu")
    gpu = iterative(scan, volume, params, initial=start, device="gpu")
    assert _rmse(gpu.data, cpu.data) < 0.02 * _rmse(start.data, truth)
