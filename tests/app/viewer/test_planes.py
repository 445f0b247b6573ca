"""Cutting planes: construction, orientation (never mirrored), sections and the plane JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.viewer.planes import (
    intersection_line,
    orthogonal_plane,
    plane_angles,
    plane_from_camera,
    plane_from_dict,
    plane_from_normal,
    plane_from_points,
    plane_through_line,
    plane_to_dict,
    section_extent,
    section_polygon,
)


def assert_frame(plane):
    frame = np.stack([plane.u, plane.v, plane.normal])
    np.testing.assert_allclose(frame @ frame.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(np.cross(plane.u, plane.v), plane.normal, atol=1e-12)


def test_plane_from_normal_is_right_handed_with_z_up():
    plane = plane_from_normal((1, 2, 3), (1.0, 2.0, 0.5))
    assert_frame(plane)
    np.testing.assert_allclose(plane.normal, np.array([1, 2, 0.5]) / np.linalg.norm([1, 2, 0.5]))
    # v is world up projected into the plane: the highest in-plane direction.
    assert plane.v[2] > 0 and abs(plane.v @ np.cross(plane.normal, (0, 0, 1))) < 1e-12


@pytest.mark.parametrize(
    ("kind", "u", "v"),
    [("axial", (1, 0, 0), (0, 1, 0)), ("coronal", (1, 0, 0), (0, 0, 1)), ("sagittal", (0, 1, 0), (0, 0, 1))],
)
def test_orthogonal_views_show_the_sample_unmirrored(kind, u, v):
    plane = orthogonal_plane(kind, (0.5, -0.5, 0.25))
    assert_frame(plane)
    np.testing.assert_allclose(plane.u, u, atol=1e-12)
    np.testing.assert_allclose(plane.v, v, atol=1e-12)


def test_plane_from_three_points_contains_them():
    points = [np.array(p, dtype=float) for p in ((0, 0, 0), (1, 0, 0.2), (0, 1, 0.5))]
    plane = plane_from_points(*points)
    assert_frame(plane)
    np.testing.assert_allclose(plane.distance(np.array(points)), 0, atol=1e-12)
    np.testing.assert_allclose(plane.point, np.mean(points, axis=0))
    with pytest.raises(ValueError, match="one line"):
        plane_from_points((0, 0, 0), (1, 1, 1), (2, 2, 2))


def test_cut_along_a_line_drawn_in_the_top_view_is_vertical():
    plane = plane_through_line((-0.75, -0.75, -0.5), (0.75, 0.75, -0.5), (0, 0, 1))
    assert_frame(plane)
    np.testing.assert_allclose(
        plane.distance(np.array([[-0.75, -0.75, -0.5], [0.75, 0.75, 0.4]])), 0, atol=1e-12
    )
    assert abs(plane.normal[2]) < 1e-12
    np.testing.assert_allclose(plane.v, (0, 0, 1), atol=1e-12)


def test_plane_from_camera_faces_the_camera_with_its_up():
    plane = plane_from_camera(position=(0, -10, 0), focal_point=(0, 0, 0), view_up=(0, 0, 1))
    np.testing.assert_allclose(plane.normal, (0, -1, 0), atol=1e-12)
    np.testing.assert_allclose(plane.v, (0, 0, 1), atol=1e-12)
    np.testing.assert_allclose(plane.u, (1, 0, 0), atol=1e-12)  # as the camera sees it: x to the right


def test_section_of_a_box_by_an_axial_plane():
    plane = orthogonal_plane("axial", (0.2, 0.3, 0.0))
    polygon = section_polygon(plane, (-1, -2, -3), (1, 2, 3))
    assert len(polygon) == 4
    np.testing.assert_allclose(section_extent(plane, (-1, -2, -3), (1, 2, 3)), (-1.2, 0.8, -2.3, 1.7))
    assert section_extent(plane.translated(5), (-1, -2, -3), (1, 2, 3)) is None


def test_intersection_line_lies_on_both_planes():
    view = plane_from_normal((0.1, 0.2, 0.3), (0.3, -0.2, 1.0))
    other = plane_from_normal((0.5, -0.4, 0.1), (1.0, 2.0, 0.5))
    point, direction = intersection_line(view, other)
    for t in (-1.0, 0.0, 2.5):
        world = view.to_world(*(point + t * direction))
        assert abs(view.distance(world)) < 1e-12
        assert abs(other.distance(world)) < 1e-12
    assert intersection_line(view, view.translated(1.0)) is None


def test_rotation_and_flip_keep_the_frame():
    plane = plane_from_normal((0, 0, 0), (1, -1, 0))
    turned = plane.rotated((0, 0, 1), np.radians(45), center=(0, 0, 0))
    assert_frame(turned)
    np.testing.assert_allclose(turned.normal, (1, 0, 0), atol=1e-12)
    flipped = plane.flipped()
    assert_frame(flipped)
    np.testing.assert_allclose(flipped.v, plane.v)


def test_plane_angles_for_the_lab():
    vertical = plane_from_normal((0, 0, 0), (0, 1, 0))
    angles = plane_angles(vertical)
    assert angles["normal_elevation_deg"] == pytest.approx(0)
    assert angles["normal_azimuth_deg"] == pytest.approx(90)
    assert angles["trace_azimuth_deg"] == pytest.approx(0)  # the cut runs along x
    tilted = plane_from_normal((0, 0, 0), (np.cos(np.radians(30)), 0, np.sin(np.radians(30))))
    assert plane_angles(tilted)["tilt_from_vertical_deg"] == pytest.approx(30)
    assert np.isnan(plane_angles(orthogonal_plane("axial", (0, 0, 0)))["trace_azimuth_deg"])


def test_plane_json_round_trip():
    plane = plane_from_normal((0.1, -0.2, 0.3), (0.3, 0.4, 0.5))
    content = json.loads(json.dumps(plane_to_dict(plane, volume_name="demo")))
    assert content["format"] == "fathom-plane/1"
    assert content["point_mm"] == pytest.approx({"x": 0.1, "y": -0.2, "z": 0.3})
    back = plane_from_dict(content)
    assert back.same_as(plane)
    with pytest.raises(ValueError, match="point_mm"):
        plane_from_dict({"normal": {"x": 1, "y": 0, "z": 0}})
