"""FDK / FBP against analytic truth: amplitude, accuracy, orientation, short scans, behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from engine.errors import FathomInputError
from engine.fdk import FDKParams, fdk
from engine.fdk.filters import FILTERS
from engine.geometry import ScanGeometry, VolumeGeometry, default_volume
from engine.progress import Cancelled, CancelToken
from engine.scan import Scan
from engine.simulate.analytic import Ellipsoid, project, voxelize

UNIFORM_SPHERE = Ellipsoid((-1.5, 0.6, 0.0), (1.2, 1.2, 1.2), 0.35)
# in the +x, +y, +z octant only, just outside the body
MARKER = Ellipsoid((1.9, 1.9, 1.5), (0.35, 0.35, 0.35), 0.75)
# A body (like a package's mold) holding the features, as in a real scan: the relative error is
# then measured against material, not mostly against air.
BODY = Ellipsoid((0.0, 0.0, 0.0), (3.3, 3.1, 2.4), 0.05)
PHANTOM = [
    BODY,
    UNIFORM_SPHERE,
    Ellipsoid((1.2, -1.0, 0.4), (1.5, 0.9, 1.1), 0.25, rotation_deg=30),
    Ellipsoid((1.2, -1.0, 0.4), (0.45, 0.45, 0.45), -0.25),  # a void inside the ellipsoid
    Ellipsoid((0.0, 0.0, -1.6), (2.6, 2.6, 0.5), 0.1),  # a flat board below
    MARKER,
]


def _cone_geometry(n_angles: int, span: float = 2 * np.pi) -> ScanGeometry:
    angles = np.arange(n_angles) * (span / n_angles)
    return ScanGeometry("cone", angles, (96, 128), (0.2, 0.2), 100.0, 300.0)


def _away_from_edges(shapes, volume: VolumeGeometry, margin_voxels: float) -> np.ndarray:
    """Voxels more than ``margin_voxels`` from any shape's surface."""
    z, y, x = np.meshgrid(*(volume.axis_mm(a) for a in range(3)), indexing="ij")
    points = np.stack([x, y, z], axis=-1)
    code = np.zeros(volume.shape, dtype=np.int64)
    for k, shape in enumerate(shapes):
        code |= shape.contains(points).astype(np.int64) << k
    boundary = np.zeros(volume.shape, dtype=bool)
    for axis in range(3):
        change = np.diff(code, axis=axis) != 0
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(0, -1)
        hi[axis] = slice(1, None)
        boundary[tuple(lo)] |= change
        boundary[tuple(hi)] |= change
    return ndimage.distance_transform_edt(~boundary) > margin_voxels


@pytest.fixture(scope="module")
def full_scan_reconstruction():
    # Exact line integrals averaged over each pixel (2 × 3 rays), as a detector integrates:
    # point samples of sharp edges alias, and the unwindowed ramp turns that into streaks that
    # any FBP shows (scikit-image's iradon more than ours, see the parallel-beam test).
    geometry = _cone_geometry(720)
    scan = Scan(project(PHANTOM, geometry, supersample=(2, 3)), geometry, "line_integrals")
    volume = fdk(scan, params=FDKParams(filter="ram-lak"), device="cpu")
    return volume


def test_fdk_of_an_exact_cone_scan_is_within_two_percent_away_from_edges(full_scan_reconstruction):
    """Relative RMSE ‖recon − truth‖ / ‖truth‖ over material voxels > 2 voxels from any surface."""
    volume = full_scan_reconstruction
    truth = voxelize(PHANTOM, volume.geometry, supersample=2)
    away = _away_from_edges(PHANTOM, volume.geometry, 2.0)
    material = away & (truth > 0)
    rel_rmse = np.linalg.norm((volume.data - truth)[material]) / np.linalg.norm(truth[material])
    assert rel_rmse <= 0.02, rel_rmse
    # and the air around it stays clean: streaks below 1 % of the strongest attenuation
    air = away & (truth == 0)
    assert np.sqrt(np.mean(volume.data[air] ** 2)) <= 0.01 * truth.max()


def test_a_uniform_sphere_reconstructs_to_its_attenuation(full_scan_reconstruction):
    volume = full_scan_reconstruction
    core = Ellipsoid(UNIFORM_SPHERE.center_mm, (0.9, 0.9, 0.9), 1.0)
    inside = voxelize([core], volume.geometry) > 0.999
    assert inside.sum() > 1000
    assert volume.data[inside].mean() == pytest.approx(UNIFORM_SPHERE.mu + BODY.mu, rel=0.01)


def test_nothing_is_mirrored(full_scan_reconstruction):
    volume = full_scan_reconstruction
    x, y, z = MARKER.center_mm

    def value_at(px, py, pz):
        probe = Ellipsoid((px, py, pz), (0.2, 0.2, 0.2), 1.0)
        return volume.data[voxelize([probe], volume.geometry) > 0.999].mean()

    assert value_at(x, y, z) == pytest.approx(MARKER.mu, rel=0.05)
    for mirrored in ((-x, y, z), (x, -y, z), (x, y, -z)):
        assert value_at(*mirrored) < 0.2 * MARKER.mu, mirrored


def test_the_default_volume_is_the_field_of_view_at_the_magnified_pixel(full_scan_reconstruction):
    g = _cone_geometry(4)
    vol = full_scan_reconstruction.geometry
    assert vol.voxel_size_mm == pytest.approx((0.2 / 3,) * 3)
    radius = 100 * np.sin(np.arctan2(128 * 0.2 / 2, 300))
    assert vol.shape[1] == vol.shape[2] == int(2 * radius / (0.2 / 3))
    assert default_volume(g) == vol


def test_a_short_scan_with_parker_weights_matches_the_full_scan(full_scan_reconstruction):
    geometry = _cone_geometry(720)
    fan = geometry.fan_half_angle()
    span = np.pi + 2 * fan + np.radians(6)
    n = int(round(span / (2 * np.pi / 720)))
    short = ScanGeometry("cone", np.arange(n) * (2 * np.pi / 720), (96, 128), (0.2, 0.2), 100.0, 300.0)
    volume = fdk(Scan(project(PHANTOM, short, supersample=(2, 3)), short, "line_integrals"), device="cpu")
    assert "Parker" in volume.recipe["redundancy"]
    truth = voxelize(PHANTOM, volume.geometry, supersample=2)
    material = _away_from_edges(PHANTOM, volume.geometry, 2.0) & (truth > 0)
    rel_rmse = np.linalg.norm((volume.data - truth)[material]) / np.linalg.norm(truth[material])
    assert rel_rmse <= 0.03, rel_rmse


def _parallel_slice_scan(n_angles=180, n=128):
    angles = np.linspace(0, np.pi, n_angles, endpoint=False)
    geometry = ScanGeometry("parallel", angles, (1, n), (1.0, 1.0))
    shapes = [Ellipsoid((20, 10, 0), (15, 8, 5), 1.0, 30), Ellipsoid((-25, -5, 0), (6, 6, 6), 0.5)]
    truth = voxelize(shapes, VolumeGeometry((1, n, n), 1.0), supersample=3)[0]
    return Scan(project(shapes, geometry), geometry, "line_integrals"), truth


def test_fbp_is_at_least_as_accurate_as_scikit_image_iradon():
    from skimage.transform import iradon

    scan, truth = _parallel_slice_scan()
    n = truth.shape[0]
    ours = fdk(scan, VolumeGeometry((1, n, n), 1.0), device="cpu").data[0]
    sinogram = scan.projections[:, 0, :]
    theirs = iradon(sinogram.T, theta=-np.degrees(scan.geometry.angles_rad), filter_name="ramp",
                    circle=True, output_size=n)
    inside = np.hypot(*np.meshgrid(np.arange(n) - 63.5, np.arange(n) - 63.5)) < 60
    rmse_ours = np.sqrt(np.mean((ours - truth)[inside] ** 2))
    rmse_theirs = np.sqrt(np.mean((theirs - truth)[inside] ** 2))
    assert rmse_ours <= rmse_theirs


@pytest.mark.parametrize("name", FILTERS)
def test_every_filter_window_keeps_the_amplitude(name):
    scan, truth = _parallel_slice_scan(n_angles=90, n=96)
    recon = fdk(scan, VolumeGeometry((1, 96, 96), 1.0), FDKParams(filter=name, cutoff=0.8)).data[0]
    core = ndimage.binary_erosion(truth > 0.99, iterations=3)  # smoothing windows blur edges
    assert core.sum() > 50
    assert recon[core].mean() == pytest.approx(1.0, rel=0.02)


def test_fdk_refuses_raw_counts():
    scan, _ = _parallel_slice_scan(n_angles=10, n=16)
    counts = Scan(np.exp(-scan.projections), scan.geometry, "counts")
    with pytest.raises(FathomInputError, match="preprocessing"):
        fdk(counts)


def test_fdk_refuses_nan_projections():
    scan, _ = _parallel_slice_scan(n_angles=10, n=16)
    bad = scan.projections.copy()
    bad[3, 0, 5] = np.nan
    with pytest.raises(FathomInputError, match="NaN"):
        fdk(Scan(bad, scan.geometry, "line_integrals"))


@pytest.mark.parametrize("value", [0.0, 1.5, -1.0])
def test_an_out_of_range_cutoff_is_a_clear_error(value):
    scan, _ = _parallel_slice_scan(n_angles=10, n=16)
    with pytest.raises(FathomInputError, match="cutoff"):
        fdk(scan, params=FDKParams(cutoff=value))


def test_cancel_stops_at_the_next_chunk_and_progress_reaches_one():
    geometry = _cone_geometry(64)
    scan = Scan(np.ones((64, 96, 128), np.float32), geometry, "line_integrals")
    token = CancelToken()
    seen = []

    def progress(fraction, message):
        seen.append(fraction)
        if fraction > 0:
            token.cancel()

    with pytest.raises(Cancelled):
        fdk(scan, params=FDKParams(chunk=8), progress=progress, cancel=token, device="cpu")
    assert max(seen) < 1.0

    fractions = []
    fdk(scan, VolumeGeometry((4, 16, 16), 0.1), FDKParams(chunk=8),
        progress=lambda f, m: fractions.append(f), device="cpu")
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_input_projections_are_not_modified():
    scan, _ = _parallel_slice_scan(n_angles=20, n=32)
    before = scan.projections.copy()
    fdk(scan)
    np.testing.assert_array_equal(scan.projections, before)
