"""Automatic centre of rotation: synthetic scans with a known axis, and both real scans.

Best manual values of the real scans (how they were found, so that they can be checked again):
each scan was flat/dark normalized with the plain mean and −log'd, every sinogram row used
(savu: rows 5, 10, …, 130; tooth: both rows) was shifted in Fourier space so that a trial axis
sat on skimage's rotation centre, and reconstructed with ``skimage.transform.iradon`` (ramp
filter) for trial offsets at 0.25 px steps (savu 5.0 … 8.0, tooth −25.0 … −22.0 px). Three
sharpness measures were summed over the rows: the negative mass (sum of negative values inside
the reconstruction circle; a misplaced axis throws dark arcs), the total variation, and minus
the image energy (coherent back-projections add up to more energy). A parabola through each
measure's best three points gives:

* savu: negative mass 6.33, total variation 6.42, energy 6.43 px (grid best 6.25–6.5):
  **+6.4 px** (column 85.9 of 160), matching "about 6.5 px right of the centre".
* tooth: negative mass −23.54, total variation −23.61, energy −23.54 px (grid best −23.5):
  **−23.55 px** (column 295.95 of 640), matching "≈ 296".

Visual checks of the tooth at −26, −23.5 and −21 px agree (doubled edges at ±2.5 px).
:func:`test_savu_axis_is_sharpest_where_found` repeats a small part of that scan live.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage.transform import iradon

from engine.errors import FathomInputError
from engine.geometry import ScanGeometry
from engine.preprocess import CenterOfRotation, find_center_of_rotation, offset_px_to_mm
from engine.progress import Cancelled, CancelToken

from .test_preprocess_data import (
    analytic_sinogram,
    analytic_stack,
    savu_scan,
    simple_line_integrals,
    tooth_scan,
)

SAVU_BEST_MANUAL_PX = 6.4
TOOTH_BEST_MANUAL_PX = -23.55


def _noisy(sinogram: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return sinogram + rng.normal(0, 0.01 * sinogram.max(), sinogram.shape)


@pytest.mark.parametrize("offset", [3.3, -7.6, 0.4, 12.45])
def test_axis_of_a_synthetic_180_degree_sinogram_is_found_within_a_quarter_pixel(offset):
    angles = np.arange(180) * np.pi / 180
    found = find_center_of_rotation(_noisy(analytic_sinogram(angles, 128, offset)), angles)
    assert isinstance(found, CenterOfRotation)
    assert abs(found.offset_px - offset) < 0.25
    assert found.column(128) == pytest.approx(63.5 + found.offset_px)


@pytest.mark.parametrize(
    "angles",
    [
        np.arange(181) * np.pi / 181,  # 181 over 180°: no projection has an exact partner
        np.radians(np.arange(91) * 2.0 - 88.2),  # 2° steps from −88.2° to 91.8°, like savu
        np.arange(360) * np.pi / 180,  # 360°: every projection has its opposite
        np.arange(270) * np.pi / 180,  # more than 180°, less than 360°
        np.random.default_rng(3).permutation(np.arange(200) * np.pi / 200),  # any order
    ],
    ids=["no-exact-pairs", "savu-like", "360", "270", "shuffled"],
)
def test_axis_is_found_for_scans_without_exact_pairs_and_for_360_degrees(angles):
    offset = -4.7
    stack = _noisy(analytic_stack(angles, 6, 128, offset))
    found = find_center_of_rotation(stack, angles)
    assert abs(found.offset_px - offset) < 0.25
    assert abs(found.coarse_offset_px - offset) < 2.0


def test_offset_converts_to_the_geometry_so_that_the_axis_lands_on_that_column():
    angles = np.linspace(0, np.pi, 8, endpoint=False)
    for beam, extra in (("parallel", {}), ("cone", {"source_object_mm": 50.0, "source_detector_mm": 400.0})):
        geometry = ScanGeometry(beam, angles, (4, 100), (0.2, 0.15), detector_offset_mm=(0.0, 0.6), **extra)
        found = CenterOfRotation(offset_px=7.25, coarse_offset_px=7.0, rows=(0,), method="test")
        corrected = geometry.with_rotation_axis_offset(found.rotation_axis_offset_mm(geometry))
        assert found.rotation_axis_offset_mm(geometry) == pytest.approx(offset_px_to_mm(7.25, geometry))
        vectors = corrected.vectors()
        first, centre, u, v = vectors[:, 0:3], vectors[:, 3:6], vectors[:, 6:9], vectors[:, 9:12]
        # the ray through the origin (on the axis): along the ray direction for a parallel
        # beam, from the source for a cone beam; where it meets the detector plane
        start = np.zeros_like(first) if beam == "parallel" else first
        direction = first if beam == "parallel" else -first
        normal = np.cross(u, v)
        t = np.sum((centre - start) * normal, axis=1) / np.sum(direction * normal, axis=1)
        hit = start + t[:, None] * direction
        columns_from_centre = np.sum((hit - centre) * u, axis=1) / np.sum(u * u, axis=1)
        np.testing.assert_allclose(columns_from_centre, 7.25, atol=1e-9)


def test_savu_axis_is_found_within_half_a_pixel_of_the_best_manual_value():
    scan = savu_scan()
    found = find_center_of_rotation(simple_line_integrals(scan), scan.geometry.angles_rad)
    assert abs(found.offset_px - SAVU_BEST_MANUAL_PX) < 0.5, found


def test_tooth_axis_is_found_within_half_a_pixel_of_the_best_manual_value():
    scan = tooth_scan()
    found = find_center_of_rotation(simple_line_integrals(scan), scan.geometry.angles_rad)
    assert abs(found.offset_px - TOOTH_BEST_MANUAL_PX) < 0.5, found


def _negative_mass(sinogram: np.ndarray, angles_deg: np.ndarray, offset_px: float) -> float:
    """Negative mass of a ramp-filtered FBP with the axis at ``offset_px`` (see module doc)."""
    cols = sinogram.shape[1]
    shift = cols // 2 - ((cols - 1) / 2 + offset_px)  # move the axis to iradon's centre
    padded = np.pad(sinogram, ((0, 0), (cols, cols)), mode="edge")
    freq = np.fft.rfftfreq(padded.shape[1])
    shifted = np.fft.irfft(np.fft.rfft(padded) * np.exp(-2j * np.pi * freq * shift), n=padded.shape[1])
    image = iradon(shifted[:, cols:2 * cols].T, theta=angles_deg, filter_name="ramp", circle=True)
    return float(-image[image < 0].sum())


def test_savu_axis_is_sharpest_where_found():
    scan = savu_scan()
    line_integrals = simple_line_integrals(scan)
    found = find_center_of_rotation(line_integrals, scan.geometry.angles_rad)
    angles_deg = np.degrees(scan.geometry.angles_rad)
    rows = range(60, 131, 10)

    def mass(offset):
        return sum(_negative_mass(line_integrals[:, r, :], angles_deg, offset) for r in rows)

    at_found = mass(found.offset_px)
    assert at_found < mass(found.offset_px - 1.0)
    assert at_found < mass(found.offset_px + 1.0)


def test_less_than_180_degrees_is_refused_with_the_fix():
    angles = np.linspace(0, np.radians(120), 100)
    with pytest.raises(FathomInputError, match="at least 180°: give the centre of rotation in pixels"):
        find_center_of_rotation(analytic_sinogram(angles, 64), angles)


def test_mismatched_angles_are_refused():
    with pytest.raises(FathomInputError, match="one angle per projection"):
        find_center_of_rotation(np.zeros((10, 64)), np.linspace(0, np.pi, 11))


def test_centre_of_rotation_reports_progress_and_can_be_cancelled():
    angles = np.arange(180) * np.pi / 180
    sinogram = analytic_sinogram(angles, 128, 2.0)
    reports = []
    find_center_of_rotation(sinogram, angles, progress=lambda f, m: reports.append(f))
    assert reports[-1] == 1.0 and reports == sorted(reports)
    token = CancelToken()

    def cancel_midway(fraction, message):
        if fraction > 0.3:
            token.cancel()

    with pytest.raises(Cancelled):
        find_center_of_rotation(sinogram, angles, progress=cancel_midway, cancel=token)
