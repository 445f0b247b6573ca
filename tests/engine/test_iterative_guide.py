"""Edge guidance (engine.iterative.guide): the guide field, the guided penalty, and what it buys."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from engine.errors import FathomInputError
from engine.fdk import fdk
from engine.geometry import ScanGeometry, default_volume
from engine.iterative import IterativeParams, edge_guide, iterative, prepare_preview
from engine.iterative.guide import GUIDE_CUT, GUIDE_STRENGTH, EdgeGuide
from engine.iterative.penalty import (
    HALF_NEIGHBOURHOOD,
    NEIGHBOUR_WEIGHTS,
    penalty_gradient,
    penalty_value,
    prepare_guide,
)
from engine.metrics import fit_edge
from engine.scan import Scan
from engine.simulate.analytic import Box, project, voxelize


def _noisy_step(shape=(12, 14, 16), contrast=0.2, sigma=0.01, seed=0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(0.5, sigma, shape).astype(np.float32)
    x[..., shape[2] // 2:] += contrast
    return x


def _pairs(shape, offset):
    """Index slices (a, b) of every pair (j, j + offset) inside ``shape``."""
    a = tuple(slice(max(0, -d), n - max(0, d)) for d, n in zip(offset, shape, strict=True))
    b = tuple(slice(max(0, d), n - max(0, -d)) for d, n in zip(offset, shape, strict=True))
    return a, b


def _reference(x, field, delta, potential):
    """Guided penalty, gradient and curvature by a NumPy sum over the 13 half offsets."""
    x = x.astype(np.float64)
    gradient, curvature, value = np.zeros_like(x), np.zeros_like(x), 0.0
    for offset, weight in zip(HALF_NEIGHBOURHOOD, NEIGHBOUR_WEIGHTS, strict=True):
        a, b = _pairs(x.shape, offset)
        unit = offset / np.linalg.norm(offset)
        mean = 0.5 * (field[(slice(None),) + a] + field[(slice(None),) + b])
        factor = 1 - GUIDE_STRENGTH * np.minimum(1, GUIDE_CUT * np.tensordot(unit, mean, axes=(0, 0)) ** 2)
        t = x[a] - x[b]
        s = np.abs(t)
        if potential == "huber":
            psi = np.where(s <= delta, 0.5 * t * t, delta * s - 0.5 * delta**2)
            relaxed = delta / np.maximum(s, delta)
        else:
            psi, relaxed = delta**2 * (s / delta - np.log1p(s / delta)), 1 / (1 + s / delta)
        w = weight * factor * relaxed
        value += float(np.sum(weight * factor * psi))
        gradient[a] += w * t
        gradient[b] -= w * t
        curvature[a] += 2 * w
        curvature[b] += 2 * w
    return value, gradient, curvature


# -- the guide field ----------------------------------------------------------------------------
def test_guide_points_across_a_step_and_is_silent_in_the_noise():
    x = _noisy_step()
    guide = edge_guide(x, 0.1)  # a step of 2 δ: guided in full
    across = guide.field[:, :, :, 7:9]  # the two voxel columns either side of the step
    assert np.all(np.abs(across[2]) > 0.95)  # confident, along x
    assert np.max(np.abs(across[:2])) < 0.1
    for flat in (guide.field[:, :, :, :3], guide.field[:, :, :, -3:]):  # noise: few false edges
        assert np.mean(np.sum(flat * flat, axis=0) > 0.25) < 0.1
    assert 0.05 < guide.edge_fraction < 0.6  # a strong step guides a band of ±3 voxels
    assert guide.gradient_noise > 0


def test_guide_in_pure_noise_trusts_few_voxels():
    """Without any edge the threshold (half confidence at 3 noise levels of |∇G|) still takes a
    few per cent of voxels for edges, in random directions (4.8 % of a 64³ block, 6.4 % of 24³)."""
    guide = edge_guide(_noisy_step((24, 24, 24), contrast=0.0), 0.1)
    assert guide.edge_fraction < 0.08


def test_guide_leaves_steps_far_above_delta_to_the_potential():
    """A step of 2 δ is guided in full, one of 20 δ not at all (Huber's linear part keeps it
    sharp, and cutting its smoothing would let the data's ringing through); the fade lies
    between 3 and 6 δ of the step that the filtered gradient implies."""
    x = _noisy_step(contrast=0.2, sigma=0.002)
    at_step = (slice(None), slice(None), slice(None), slice(7, 9))
    faint = edge_guide(x, 0.1).field[at_step]
    strong = edge_guide(x, 0.01).field[at_step]
    assert np.all(np.abs(faint[2]) > 0.95)
    assert np.max(np.abs(strong)) < 1e-6
    # farther from the step the implied step falls below 3 δ again: guided there
    assert np.max(np.abs(edge_guide(x, 0.01).field[2, :, :, 4])) > 0.5
    assert edge_guide(x, 0.01).to_dict()["step_fade_deltas"] == [3.0, 6.0]
    with pytest.raises(ValueError, match="δ"):
        edge_guide(x, 0.0)


def test_guide_crop_keeps_the_field_of_the_block():
    guide = edge_guide(_noisy_step(), 0.1)
    block = guide.crop((2, 3, 4), (5, 6, 7))
    np.testing.assert_array_equal(block.field, guide.field[:, 2:7, 3:9, 4:11])
    assert block.gradient_noise == guide.gradient_noise
    assert block.edge_preservation == guide.edge_preservation


# -- the guided penalty -------------------------------------------------------------------------
@pytest.mark.parametrize("potential", ["huber", "fair"])
@pytest.mark.parametrize("shape", [(6, 7, 19), (3, 1, 6), (2, 4, 1), (1, 1, 2)])
def test_guided_penalty_matches_a_sum_over_the_pairs(potential, shape):
    rng = np.random.default_rng(3)
    x = rng.normal(0, 0.05, shape).astype(np.float32)
    x[..., shape[2] // 2:] += 0.4
    field = rng.uniform(-0.7, 0.7, (3,) + shape).astype(np.float32)  # any field, confidence < 1
    value, gradient, curvature = _reference(x, field, 0.03, potential)
    prepared = prepare_guide(field, x)
    got_gradient, got_curvature = penalty_gradient(x, 0.03, potential, guide=prepared)
    np.testing.assert_allclose(got_gradient, gradient, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got_curvature, curvature, rtol=1e-4, atol=1e-6)
    assert penalty_value(x, 0.03, potential, prepared) == pytest.approx(value, rel=1e-5)


def test_guided_gradient_is_the_derivative_of_the_guided_penalty():
    x = _noisy_step((5, 6, 8), contrast=0.1, sigma=0.03)
    prepared = prepare_guide(edge_guide(x, 0.03).field, x)
    gradient, _ = penalty_gradient(x, 0.03, "huber", guide=prepared)
    for index in [(0, 0, 0), (2, 3, 3), (2, 3, 4), (4, 5, 7)]:
        step = 1e-3
        up, down = x.astype(np.float64), x.astype(np.float64)
        up[index] += step
        down[index] -= step
        numeric = (penalty_value(up.astype(np.float32), 0.03, "huber", prepared)
                   - penalty_value(down.astype(np.float32), 0.03, "huber", prepared)) / (2 * step)
        assert gradient[index] == pytest.approx(numeric, rel=2e-2, abs=2e-4)


def test_zero_guide_is_the_unguided_penalty():
    x = _noisy_step()
    prepared = prepare_guide(np.zeros((3,) + x.shape, dtype=np.float32), x)
    for got, plain in zip(penalty_gradient(x, 0.03, guide=prepared), penalty_gradient(x, 0.03), strict=True):
        np.testing.assert_allclose(got, plain, rtol=1e-5, atol=1e-7)


def test_guide_cuts_the_pairs_across_an_edge_only():
    """Across a trusted edge along x the x-pairs keep 1 − γ of their weight; the pairs along it
    (y and z) keep all of it, so the curvature at the edge falls by about the x pairs' share."""
    x = np.full((6, 6, 6), 0.5, dtype=np.float32)
    field = np.zeros((3,) + x.shape, dtype=np.float32)
    field[2] = 1.0  # every voxel: a trusted edge with normal x
    _, plain = penalty_gradient(x, 0.03)
    _, guided = penalty_gradient(x, 0.03, guide=prepare_guide(field, x))
    pairs = list(zip(HALF_NEIGHBOURHOOD[:, 2], NEIGHBOUR_WEIGHTS, strict=True))
    crossing = sum(w for dx, w in pairs if dx != 0)
    along = sum(w for dx, w in pairs if dx == 0)
    expected = 2 * 2 * (along + (1 - GUIDE_STRENGTH) * crossing)
    assert guided[2, 2, 2] == pytest.approx(expected, rel=1e-5)
    assert plain[2, 2, 2] == pytest.approx(2 * 2 * (along + crossing), rel=1e-5)


# -- what it buys: a sharper face at the same smoothing ------------------------------------------
# the inner box's +x face lies in the middle of a voxel column (x = 1.03 mm, voxels of 1/15 mm)
LOW_CONTRAST = [Box((0.0, 0.0, 0.0), (2.2, 2.2, 0.8), 0.05), Box((0.0, 0.0, 0.0), (1.03, 2.0, 0.7), 0.012)]


@pytest.fixture(scope="module")
def faint_face():
    geometry = ScanGeometry("cone", np.arange(120) * 2 * np.pi / 120, (24, 64), (0.2, 0.2), 100.0, 300.0)
    photons = 4000
    exact = project(LOW_CONTRAST, geometry, supersample=(2, 2))
    counts = np.random.default_rng(5).poisson(photons * np.exp(-exact))
    measured = -np.log(np.maximum(counts, 1) / photons).astype(np.float32)
    scan = Scan(measured, geometry, values="line_integrals")
    volume = default_volume(geometry)
    return scan, volume, fdk(scan, volume), voxelize(LOW_CONTRAST, volume, supersample=3)


def _face_width(data, volume) -> float:
    """10–90 % width (voxels) of the inner box's +x face, averaged over its middle."""
    nz, ny, nx = volume.shape
    face = nx // 2 + int(round(1.0 / volume.voxel_size_mm[2]))
    block = data[nz // 2 - 2:nz // 2 + 2, ny // 2 - 6:ny // 2 + 6, face - 6:face + 6]
    return fit_edge(block.mean(axis=(0, 1))).width


def test_guidance_keeps_a_faint_face_sharp_at_the_same_smoothing(faint_face):
    scan, volume, start, truth = faint_face
    common = dict(edge_preservation=0.02, smoothing=40.0, iterations=10)
    plain = iterative(scan, volume, IterativeParams(**common), initial=start, device="cpu")
    guided = iterative(scan, volume, IterativeParams(**common, guide="fdk"), initial=start, device="cpu")
    widths = {name: _face_width(v.data, volume) for name, v in
              (("fdk", start), ("plain", plain), ("guided", guided))}
    # measured: FDK 1.73, unguided 5.0, guided 2.1 voxels (10 iterations from FDK)
    assert widths["guided"] < 0.6 * widths["plain"], widths
    assert widths["guided"] < 1.3 * widths["fdk"], widths
    # noise inside the inner box is still smoothed far below FDK's
    nz, ny, nx = volume.shape
    inside = (slice(nz // 2 - 1, nz // 2 + 2), slice(ny // 2 - 8, ny // 2 + 8),
              slice(nx // 2 - 6, nx // 2 + 6))
    assert guided.data[inside].std() < 0.5 * start.data[inside].std()
    assert guided.recipe["guide"]["edge_fraction"] > 0
    assert plain.recipe["guide"] is None


# a dense inner box: 0.55/mm in all (0.05 + 0.5), a step of 25 δ at δ = 0.02
STRONG_STEP = [Box((0.0, 0.0, 0.0), (2.2, 2.2, 0.8), 0.05), Box((0.0, 0.0, 0.0), (1.03, 1.03, 0.7), 0.5)]


def test_guidance_leaves_a_strong_step_to_the_potential(faint_face):
    """Guided across a 25 δ step, the pairs there keep 1 % of their smoothing and the data's
    ringing comes through (measured without the fade: 0.13/mm above the box's 0.55 just inside
    its face); with the fade the step is the potential's, as unguided (0.011 over, and the same
    error within two voxels of the face: 0.061 against 0.062)."""
    scan, volume, _, _ = faint_face
    exact = project(STRONG_STEP, scan.geometry, supersample=(2, 2))
    counts = np.random.default_rng(5).poisson(4000 * np.exp(-exact))
    strong = Scan(-np.log(np.maximum(counts, 1) / 4000).astype(np.float32), scan.geometry,
                  values="line_integrals")
    start = fdk(strong, volume)
    truth = voxelize(STRONG_STEP, volume, supersample=3)
    band = (ndimage.maximum_filter(truth, 5) - ndimage.minimum_filter(truth, 5)) > 0.2
    common = dict(edge_preservation=0.02, smoothing=40.0, iterations=10)
    images = {guide: iterative(strong, volume, IterativeParams(**common, guide=guide), initial=start,
                               device="cpu").data for guide in ("none", "fdk")}
    overshoot = {guide: float(v[band].max()) - 0.55 for guide, v in images.items()}
    error = {guide: float(np.sqrt(np.mean((v - truth)[band] ** 2))) for guide, v in images.items()}
    assert overshoot["fdk"] < 0.04, overshoot
    assert error["fdk"] < 1.05 * error["none"], error


def test_preview_strip_uses_the_guide_and_rejects_an_unknown_one(faint_face):
    scan, volume, start, _ = faint_face
    nz, ny, nx = volume.shape
    preview = prepare_preview(scan, volume, (nz // 2 - 4, ny // 2 - 12, nx // 2 - 12), (8, 24, 24),
                              background=start, device="cpu")
    guide = preview.edge_guide(0.02)
    assert isinstance(guide, EdgeGuide) and guide.field.shape == (3, 8, 24, 24)
    plain = preview.smoothing_strip(0.02, [40.0], iterations=5)
    guided = preview.smoothing_strip(0.02, [40.0], iterations=5, guide="fdk")
    assert not np.allclose(plain.images[0], guided.images[0])
    with pytest.raises(FathomInputError, match="edge guidance"):
        preview.smoothing_strip(0.02, [40.0], iterations=5, guide="prior")


def test_unknown_guide_is_a_clear_error(faint_face):
    scan, volume, start, _ = faint_face
    with pytest.raises(FathomInputError, match="guide"):
        iterative(scan, volume, IterativeParams(edge_preservation=0.02, smoothing=1.0, guide="mri"),
                  initial=start, device="cpu")


# -- GPU ----------------------------------------------------------------------------------------
@pytest.mark.gpu
def test_gpu_guided_penalty_matches_cpu():
    import cupy as cp

    x = _noisy_step((9, 10, 11), contrast=0.1, sigma=0.03)
    field = edge_guide(x, 0.03).field
    for potential in ("huber", "fair"):
        g_cpu, c_cpu = penalty_gradient(x, 0.03, potential, guide=prepare_guide(field, x))
        on_gpu = cp.asarray(x)
        gpu_field = prepare_guide(field, on_gpu)
        g_gpu, c_gpu = penalty_gradient(on_gpu, 0.03, potential, guide=gpu_field)
        np.testing.assert_allclose(g_gpu.get(), g_cpu, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(c_gpu.get(), c_cpu, rtol=1e-4, atol=1e-6)
        assert penalty_value(on_gpu, 0.03, potential, gpu_field) == pytest.approx(
            penalty_value(x, 0.03, potential, prepare_guide(field, x)), rel=1e-4)
