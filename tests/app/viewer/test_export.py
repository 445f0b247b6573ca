"""Exports: a slice with its scale (16-bit TIFF, PNG), the plane JSON, a movie."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("vtkmodules", reason="VTK is not installed (pip install -e '.[gui]')")

import tifffile
from PIL import Image

from app.viewer.export import (
    read_slice_tiff,
    sweep_planes,
    write_movie,
    write_plane_json,
    write_slice_png,
    write_slice_tiff,
)
from app.viewer.planes import orthogonal_plane, plane_from_normal
from app.viewer.reslice import PlaneSampler
from engine.io import load_volume, save_volume

from .plate import measured_rows, plate_rows_truth, tilted_plate, well_inside

CUT_NORMAL_XYZ = np.array([1.0, 0.6, 0.3])


def test_exported_oblique_slice_holds_the_tilted_plate_where_it_is(tmp_path):
    save_volume(tilted_plate(), tmp_path / "plate.tif")
    volume = load_volume(tmp_path / "plate.tif")
    geometry = volume.geometry
    sampler = PlaneSampler(volume.data, geometry.voxel_size_mm, geometry.origin_mm)
    point = np.array(geometry.center_mm[::-1])
    plane = plane_from_normal(point, CUT_NORMAL_XYZ)
    tif, sidecar = write_slice_tiff(sampler.sample(plane), tmp_path / "cut.tif", volume_name="plate")

    values, description = read_slice_tiff(tif)
    assert json.loads(sidecar.read_text()) == description
    pixel = description["pixel_size_mm"]
    assert pixel == pytest.approx(min(geometry.voxel_size_mm))
    with tifffile.TiffFile(tif) as file:
        page = file.pages[0]
        assert page.dtype == np.uint16
        assert page.tags["ResolutionUnit"].value == 3  # centimetre
        numerator, denominator = page.tags["XResolution"].value
        assert numerator / denominator == pytest.approx(10.0 / pixel, rel=1e-6)
    np.testing.assert_allclose(
        [description["plane"]["normal"][k] for k in "xyz"], CUT_NORMAL_XYZ / np.linalg.norm(CUT_NORMAL_XYZ)
    )

    # Not mirrored: right × up (= column step × −row step) is the normal, towards the viewer.
    right = np.array([description["column_step_mm"][k] for k in "xyz"])
    up = -np.array([description["row_step_mm"][k] for k in "xyz"])
    np.testing.assert_allclose(np.cross(right, up) / pixel**2, plane.normal, atol=1e-9)

    columns, rows = measured_rows(values)
    inside = well_inside(description, columns, rows, geometry)
    columns, rows = columns[inside], rows[inside]
    assert len(columns) > 0.5 * values.shape[1]
    truth = plate_rows_truth(description, columns)
    slope, intercept = np.polyfit(columns, rows, 1)
    straightness = rows - (intercept + slope * columns)
    assert np.sqrt(np.mean(straightness**2)) < 0.15  # a straight line (pixels)
    assert np.max(np.abs(rows - truth)) < 0.3  # at the right place (pixels)
    assert abs(slope - np.polyfit(columns, truth, 1)[0]) < 0.005


def test_sixteen_bit_values_return_to_attenuation(tmp_path):
    sampler = PlaneSampler(tilted_plate().data * 1.7 - 0.2, (0.03, 0.025, 0.02))
    image = sampler.sample(orthogonal_plane("coronal", sampler.grid.centre()))
    tif, _ = write_slice_tiff(image, tmp_path / "c.tiff")
    values, _ = read_slice_tiff(tif)
    span = image.pixels.max() - image.pixels.min()
    np.testing.assert_allclose(values, image.pixels, atol=span / 65535)
    with pytest.raises(ValueError, match="tif"):
        write_slice_tiff(image, tmp_path / "c.png")


def test_png_has_the_view_and_a_scale_bar(tmp_path):
    sampler = PlaneSampler(tilted_plate().data, (0.03, 0.025, 0.02))
    image = sampler.sample(orthogonal_plane("coronal", sampler.grid.centre()))
    path = write_slice_png(image, tmp_path / "slice.png", window=1.0, level=0.5, colormap="Grey")
    picture = Image.open(path)
    rgb = np.asarray(picture)
    factor = rgb.shape[1] // image.pixels.shape[1]
    assert factor >= 2 and rgb.shape == (factor * image.pixels.shape[0], factor * image.pixels.shape[1], 3)
    assert json.loads(picture.text["fathom"])["pixel_size_mm"] == pytest.approx(image.pixel_size_mm / factor)
    bottom = rgb[-int(0.1 * rgb.shape[0]) :, : rgb.shape[1] // 2]
    assert (bottom == 255).all(axis=-1).sum() > 20  # the white bar in the lower left
    same = write_slice_png(image, tmp_path / "native.png", window=1.0, level=0.5, min_width=0)
    assert np.asarray(Image.open(same)).shape == (*image.pixels.shape, 3)


def test_plane_json_for_the_lab(tmp_path):
    plane = plane_from_normal((0.1, 0.2, -0.3), (0.0, 1.0, 0.0))
    content = json.loads(write_plane_json(plane, tmp_path / "plane.json", volume_name="BGA").read_text())
    assert content["format"] == "fathom-plane/1"
    assert content["normal"] == pytest.approx({"x": 0.0, "y": 1.0, "z": 0.0})
    assert content["point_mm"] == pytest.approx({"x": 0.1, "y": 0.2, "z": -0.3})
    assert content["angles_deg"]["tilt_from_vertical"] == pytest.approx(0.0)
    assert content["angles_deg"]["trace_azimuth"] == pytest.approx(0.0)


def test_movie_sweeps_through_the_volume(tmp_path):
    sampler = PlaneSampler(tilted_plate().data, (0.03, 0.025, 0.02))
    planes = sweep_planes(orthogonal_plane("axial", sampler.grid.centre()), sampler.grid, 5)
    heights = [p.point[2] for p in planes]
    low, high = sampler.grid.bounds()
    assert heights[0] > low[2] and heights[-1] < high[2] and np.all(np.diff(heights) > 0)
    frames = [np.full((8, 10, 3), 40 * i, dtype=np.uint8) for i in range(5)]
    gif = write_movie(frames, tmp_path / "sweep.gif", fps=5)
    assert Image.open(gif).n_frames == 5
    folder = write_movie(frames, tmp_path / "frames")
    assert len(list(folder.glob("frame_*.png"))) == 5
