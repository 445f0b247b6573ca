"""Oblique resampling and slab projections: the same numbers as a direct interpolation."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("vtkmodules", reason="VTK is not installed (pip install -e '.[gui]')")
from scipy.ndimage import map_coordinates

from app.viewer.planes import orthogonal_plane, plane_from_normal
from app.viewer.reslice import PlaneSampler, VolumeGrid, downsample_for_display, slab_sampling

VOXEL = (0.05, 0.04, 0.03)  # (z, y, x): anisotropic on purpose
ORIGIN = (1.0, -0.5, 0.2)


@pytest.fixture(scope="module")
def sampler() -> PlaneSampler:
    data = np.random.default_rng(0).random((40, 50, 60)).astype(np.float32)
    return PlaneSampler(data, VOXEL, ORIGIN)


def reference(sampler, image, offsets=(0.0,)):
    """Linear interpolation of the volume at every pixel centre (shifted along the normal)."""
    rows, columns = np.mgrid[0 : image.pixels.shape[0], 0 : image.pixels.shape[1]]
    world = image.world_of_pixel(rows, columns)
    samples = [
        map_coordinates(
            sampler.data, np.moveaxis(sampler.grid.index_of(world + d * image.plane.normal), -1, 0), order=1
        )
        for d in offsets
    ]
    index = sampler.grid.index_of(world)
    margin = 1 + max(abs(d) for d in offsets) / min(VOXEL)
    inside = np.all((index > margin) & (index < np.array(sampler.data.shape) - 1 - margin), axis=-1)
    return np.array(samples), inside


def test_oblique_slice_matches_direct_interpolation(sampler):
    plane = plane_from_normal(sampler.grid.centre(), (1.0, 2.0, 0.5))
    image = sampler.sample(plane)
    assert image.pixel_size_mm == pytest.approx(min(VOXEL))
    expected, inside = reference(sampler, image)
    assert inside.sum() > 2000
    np.testing.assert_allclose(image.pixels[inside], expected[0][inside], atol=2e-5)


@pytest.mark.parametrize("mode", ["max", "mean", "min"])
def test_slab_projection_across_the_thickness(sampler, mode):
    plane = plane_from_normal(sampler.grid.centre(), (1.0, 2.0, 0.5))
    image = sampler.sample(plane, slab_mm=0.2, slab_mode=mode)
    count, step = image.layout.slab_slices, image.layout.slab_step_mm
    assert count * step == pytest.approx(0.2)
    offsets = [(k - (count - 1) / 2) * step for k in range(count)]
    expected, inside = reference(sampler, image, offsets)
    combine = {"max": np.max, "mean": np.mean, "min": np.min}[mode]
    np.testing.assert_allclose(image.pixels[inside], combine(expected, axis=0)[inside], atol=2e-5)


def test_orthogonal_slices_are_the_voxels_the_right_way_up():
    # Square pixels of the voxel size: with cubic voxels an orthogonal slice is the voxels.
    sampler = PlaneSampler(np.random.default_rng(1).random((20, 24, 28)).astype(np.float32), 0.04, ORIGIN)
    data, grid = sampler.data, sampler.grid
    k, j, i = 7, 11, 13
    point = grid.world_of((k, j, i))
    axial = sampler.sample(orthogonal_plane("axial", point)).pixels
    np.testing.assert_allclose(axial, data[k, ::-1, :], atol=1e-6)  # y up, x right
    coronal = sampler.sample(orthogonal_plane("coronal", point)).pixels
    np.testing.assert_allclose(coronal, data[::-1, j, :], atol=1e-6)  # z up, x right
    sagittal = sampler.sample(orthogonal_plane("sagittal", point)).pixels
    np.testing.assert_allclose(sagittal, data[::-1, :, i], atol=1e-6)  # z up, y right


def test_pixel_world_mapping_round_trips(sampler):
    image = sampler.sample(plane_from_normal(sampler.grid.centre(), (0.2, -1.0, 0.4)), pixel_size_mm=0.05)
    rows, columns = np.array([0.0, 3.5, 10.0]), np.array([2.0, 0.0, 7.25])
    back = image.pixel_of_world(image.world_of_pixel(rows, columns))
    np.testing.assert_allclose(back, np.stack([rows, columns], axis=-1), atol=1e-9)


def test_sharing_samplers_do_not_disturb_each_other(sampler):
    other = PlaneSampler.sharing(sampler)
    assert other.image is sampler.image
    first = sampler.sample(orthogonal_plane("axial", sampler.grid.centre())).pixels
    other.sample(orthogonal_plane("coronal", sampler.grid.centre()))
    np.testing.assert_array_equal(sampler.output_pixels()[::-1], first)


def test_slab_sampling_and_bad_input():
    assert slab_sampling(0.0, 0.02) == (1, 0.02)
    count, step = slab_sampling(0.3, 0.02)
    assert count == 15 and step == pytest.approx(0.02)
    count, step = slab_sampling(0.2, 0.02)
    assert count == 11 and step == pytest.approx(0.2 / 11)
    with pytest.raises(ValueError, match="slab thickness"):
        slab_sampling(-1.0, 0.02)
    with pytest.raises(ValueError, match="3D"):
        PlaneSampler(np.zeros((4, 4)), VOXEL)


def test_downsampling_for_3d_keeps_the_sample_in_place():
    data = np.arange(8 * 6 * 4, dtype=np.float32).reshape(8, 6, 4)
    grid = VolumeGrid(data.shape, (0.1, 0.1, 0.1), (0.0, 0.0, 0.0))
    small, small_grid = downsample_for_display(data, grid, max_size=4)
    assert small.shape == (4, 3, 2)
    assert small[0, 0, 0] == pytest.approx(data[:2, :2, :2].mean())
    assert small_grid.voxel_size_mm == (0.2, 0.2, 0.2)
    np.testing.assert_allclose(small_grid.origin_mm, (0.05, 0.05, 0.05))
    same, same_grid = downsample_for_display(data, grid, max_size=16)
    assert same.shape == data.shape and same_grid == grid
