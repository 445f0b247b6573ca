"""The analytic projector against brute force: line integrals found by marching along each ray.

The reference integrates each shape's attenuation along the ray by sampling its inside test
(``contains``, not the chord formulas) every ``STEP`` mm and locating each entry and exit
between two samples by bisection, so the integral of these piecewise-constant functions is
exact up to features thinner than a step. The rays are built here from the
geometry's vectors, independently of the projector's own ray code.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.geometry import ScanGeometry
from engine.simulate.analytic import Box, Cylinder, Ellipsoid, project
from engine.simulate.package import bga2d_geometry, bga_package, bga_plane, demo_geometry

STEP = 2e-4  # mm, far below the thinnest feature (20 µm)

SHAPES = [
    Ellipsoid((0.3, -0.2, 0.1), (1.1, 0.7, 0.5), 0.3, rotation_deg=25),
    Ellipsoid((0.5, -0.3, 0.1), (0.25, 0.25, 0.25), -0.3),  # a void inside it
    Box((-0.9, 0.6, -0.2), (0.4, 0.15, 0.3), 0.8, rotation_deg=-35),
    Box((0.0, 0.0, -0.75), (1.4, 1.4, 0.02), 0.5),  # thin and wide: rays cross it obliquely
    Cylinder((0.8, 0.9, 0.3), 0.3, 0.45, 1.4),
    Cylinder((-0.4, -0.9, 0.5), 0.05, 0.6, 0.9),  # a via
]


def brute_force(shapes, origin: np.ndarray, direction: np.ndarray) -> float:
    """∫ μ along the line ``origin + t·direction`` (unit direction) by marching and bisection."""
    total = 0.0
    for shape in shapes:
        # the stretch of the line within the shape's bounding sphere: nothing outside is inside
        center = np.asarray(shape.center_mm, dtype=np.float64)
        radius = shape.bounding_radius() * 1.001
        middle = float(np.dot(center - origin, direction))
        miss = np.linalg.norm(origin + middle * direction - center)
        if miss >= radius:
            continue
        half = np.sqrt(radius**2 - miss**2)
        t = np.arange(middle - half, middle + half + STEP, STEP)
        inside = shape.contains(origin + t[:, None] * direction)
        flips = np.flatnonzero(inside[1:] != inside[:-1])
        lo, hi = t[flips], t[flips + 1]
        state_lo = inside[flips]
        for _ in range(40):  # bisection to ~1e-16 mm
            mid = (lo + hi) / 2
            same = shape.contains(origin + mid[:, None] * direction) == state_lo
            lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
        crossings = (lo + hi) / 2
        # entries (outside → inside) count negative, exits positive
        length = np.sum(np.where(state_lo, crossings, -crossings))
        assert not inside[0] and not inside[-1]
        total += shape.mu * length
    return total


def rays(geometry: ScanGeometry, index: int, pixels, offset=(0.0, 0.0)):
    """(origin, unit direction) of the ray to each (row, column) in ``pixels``, from the vectors."""
    vec = geometry.vectors()[index]
    first, det, u, v = vec[0:3], vec[3:6], vec[6:9], vec[9:12]
    rows, cols = geometry.detector_shape
    for r, c in pixels:
        point = det + (c - (cols - 1) / 2 + offset[1]) * u + (r - (rows - 1) / 2 + offset[0]) * v
        if geometry.beam == "cone":
            direction = point - first
            yield first, direction / np.linalg.norm(direction)
        else:
            yield point, first / np.linalg.norm(first)


def all_pixels(geometry):
    rows, cols = geometry.detector_shape
    return [(r, c) for r in range(rows) for c in range(cols)]


def assert_matches_brute_force(shapes, geometry, supersample=(1, 1), pixels=None):
    computed = project(shapes, geometry, supersample=supersample)
    pixels = pixels or all_pixels(geometry)
    sub_r, sub_c = supersample
    offsets = [((i + 0.5) / sub_r - 0.5, (j + 0.5) / sub_c - 0.5) for i in range(sub_r) for j in range(sub_c)]
    for index in range(geometry.n_projections):
        expected = np.zeros(len(pixels))
        for offset in offsets:
            expected += [brute_force(shapes, o, d) for o, d in rays(geometry, index, pixels, offset)]
        expected /= len(offsets)
        got = np.array([computed[index, r, c] for r, c in pixels], dtype=np.float64)
        assert expected.max() > 0.1  # the rays do cross the phantom
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * expected.max())


def test_cone_beam_projections_agree_with_brute_force_integration():
    angles = np.radians([0.0, 37.0, 131.0])
    geometry = ScanGeometry("cone", angles, (9, 11), (0.8, 0.8), 12.0, 60.0, rotation_axis_offset_mm=0.3,
                            detector_offset_mm=(0.5, -0.2))
    assert_matches_brute_force(SHAPES, geometry)


def test_parallel_beam_projections_agree_with_brute_force_integration():
    angles = np.radians([-90.0, 12.0, 75.0])
    geometry = ScanGeometry("parallel", angles, (7, 13), (0.35, 0.3), detector_tilt_rad=(0.05, 0.0, 0.0))
    assert_matches_brute_force(SHAPES, geometry)


def test_pixel_supersampling_averages_the_rays_inside_each_pixel():
    geometry = ScanGeometry("cone", np.radians([20.0]), (5, 6), (0.8, 0.8), 12.0, 60.0)
    assert_matches_brute_force(SHAPES, geometry, supersample=(2, 3))


def test_the_demo_package_projects_as_brute_force_integration_says():
    geometry = demo_geometry(4)
    # rows and columns through the balls, the bumps, the die and the defects
    pixels = [(r, c) for r in (30, 58, 63, 87, 90) for c in (45, 71, 80, 93, 118)]
    assert_matches_brute_force(bga_package()[0], geometry.subset(slice(0, 2)), supersample=(2, 2),
                               pixels=pixels)


def test_the_bga2d_sinogram_projects_as_brute_force_integration_says():
    geometry = bga2d_geometry().subset(np.array([0, 100]))
    pixels = [(0, c) for c in range(40, 330, 13)]
    assert_matches_brute_force(bga_plane()[0], geometry, pixels=pixels)


def test_projection_of_nothing_is_zero_and_float32():
    geometry = ScanGeometry("parallel", np.zeros(2), (3, 4))
    out = project([], geometry)
    assert out.dtype == np.float32 and out.shape == (2, 3, 4) and not out.any()


@pytest.mark.parametrize("beam", ["cone", "parallel"])
def test_a_shape_off_the_detector_adds_nothing(beam):
    geometry = (ScanGeometry("cone", np.zeros(1), (4, 4), (0.1, 0.1), 10.0, 50.0) if beam == "cone"
                else ScanGeometry("parallel", np.zeros(1), (4, 4), (0.1, 0.1)))
    far = [Ellipsoid((5.0, 0.0, 0.0), (0.2, 0.2, 0.2), 1.0)]
    assert not project(far, geometry).any()
