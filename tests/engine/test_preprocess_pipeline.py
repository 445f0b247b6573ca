"""The preprocessing pipeline on Scans: results, recorded steps, parameters, cancel, immutability."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import threading
import time

import numpy as np
import pytest

from engine import params as params_module
from engine.errors import FathomInputError
from engine.geometry import ScanGeometry
from engine.preprocess import PreprocessParams, linearize_beam_hardening, preprocess
from engine.preprocess import pipeline as pipeline_module
from engine.progress import Cancelled, CancelToken
from engine.scan import Scan

from .test_preprocess_center import SAVU_BEST_MANUAL_PX, TOOTH_BEST_MANUAL_PX
from .test_preprocess_data import analytic_stack, savu_scan, tooth_scan

NO_CENTRE = PreprocessParams(center_of_rotation="none")


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if a is not None:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _counts_scan(n=36, rows=8, cols=48, offset_px=2.0, pixel_mm=0.05, **scan_changes) -> Scan:
    """Raw uint16 counts of an analytic sample over 360°, with flats and darks."""
    angles = np.arange(n) * 2 * np.pi / n
    line_integrals = analytic_stack(angles, rows, cols, offset_px) * 0.02
    flat, dark = 20000.0, 100.0
    counts = dark + (flat - dark) * np.exp(-line_integrals)
    geometry = ScanGeometry("parallel", angles, (rows, cols), (pixel_mm, pixel_mm))
    return Scan(
        np.round(counts).astype(np.uint16), geometry, "counts",
        np.full((3, rows, cols), flat, np.float32), np.full((2, rows, cols), dark, np.float32),
        metadata={"reader": "test"}, **scan_changes,
    )


def test_savu_becomes_float32_line_integrals_with_the_axis_set_and_a_record():
    scan = savu_scan(pixel_mm=0.01)
    before = _digest(scan.projections, scan.flats, scan.darks)
    out = preprocess(scan)
    assert out.values == "line_integrals"
    assert out.projections.dtype == np.float32 and out.projections.shape == scan.projections.shape
    assert out.flats is None and out.darks is None
    record = out.metadata["preprocess"]
    assert out.metadata["source"] == "savu"  # the reader's metadata is kept
    assert record["steps"] == ["normalize", "minus_log", "remove_outliers", "ring_removal",
                               "center_of_rotation"]
    assert record["normalization"]["dead_pixels_filled"] == 1  # savu's flat has one dead pixel
    assert record["clamped_pixels"] == 0
    cor = record["center_of_rotation"]
    assert abs(cor["offset_px"] - SAVU_BEST_MANUAL_PX) < 0.5
    assert cor["offset_mm"] == pytest.approx(cor["offset_px"] * 0.01)
    assert out.geometry.rotation_axis_offset_mm == pytest.approx(cor["rotation_axis_offset_mm"])
    assert np.isfinite(out.projections).all()
    # the input (read-only arrays) is untouched
    assert _digest(scan.projections, scan.flats, scan.darks) == before
    assert scan.values == "counts" and scan.geometry.rotation_axis_offset_mm == 0.0
    assert "preprocess" not in scan.metadata


def test_tooth_axis_is_set_from_the_pipeline():
    out = preprocess(tooth_scan(pixel_mm=0.5))
    cor = out.metadata["preprocess"]["center_of_rotation"]
    assert abs(cor["offset_px"] - TOOTH_BEST_MANUAL_PX) < 0.5
    assert out.geometry.rotation_axis_offset_mm == pytest.approx(cor["offset_px"] * 0.5)
    assert out.metadata["preprocess"]["normalization"]["flats"] == 10


def test_pipeline_line_integrals_equal_the_plain_formula_when_only_normalizing():
    scan = _counts_scan()
    plain = PreprocessParams(remove_outliers=False, ring_removal=False, center_of_rotation="none")
    out = preprocess(scan, plain)
    expected = -np.log((scan.projections.astype(np.float64) - 100.0) / (20000.0 - 100.0))
    np.testing.assert_allclose(out.projections, expected, atol=1e-5)
    assert out.geometry.rotation_axis_offset_mm == 0.0
    assert "center_of_rotation" not in out.metadata["preprocess"]


def test_a_given_centre_in_pixels_sets_the_geometry_in_mm():
    scan = _counts_scan(pixel_mm=0.05)
    out = preprocess(scan, PreprocessParams(center_of_rotation=-3.5))
    assert out.geometry.rotation_axis_offset_mm == pytest.approx(-3.5 * 0.05)
    assert out.metadata["preprocess"]["center_of_rotation"]["method"] == "given"
    out = preprocess(scan, PreprocessParams(center_of_rotation="2.25"))  # as the CLI gives it
    assert out.geometry.rotation_axis_offset_mm == pytest.approx(2.25 * 0.05)


def test_automatic_centre_of_a_360_degree_synthetic_scan():
    out = preprocess(_counts_scan(offset_px=2.0))
    assert abs(out.metadata["preprocess"]["center_of_rotation"]["offset_px"] - 2.0) < 0.25


def test_interpolated_flats_follow_a_drifting_beam():
    n, rows, cols = 20, 4, 16
    geometry = ScanGeometry("parallel", np.linspace(0, np.pi, n, endpoint=False), (rows, cols))
    beam = np.linspace(1000.0, 2000.0, n)[:, None, None]
    projections = np.broadcast_to(0.5 * beam, (n, rows, cols)).astype(np.float32)
    flats = np.stack([np.full((rows, cols), 1000.0), np.full((rows, cols), 2000.0)]).astype(np.float32)
    scan = Scan(projections, geometry, "counts", flats, None, flat_positions=np.array([0, n - 1]))
    out = preprocess(scan, dataclasses.replace(NO_CENTRE, ring_removal=False))
    np.testing.assert_allclose(out.projections, np.log(2.0), atol=1e-5)
    assert out.metadata["preprocess"]["normalization"]["interpolated_flats"] is True


def test_raw_counts_without_flats_raise_and_say_how_to_fix():
    scan = dataclasses.replace(_counts_scan(), flats=None, darks=None)
    with pytest.raises(FathomInputError, match="no flat fields: give flats.*'line_integrals'"):
        preprocess(scan, NO_CENTRE)
    # already flat-corrected transmission: normalization off means −log only
    transmission = scan.projections.astype(np.float32) / 20000.0
    out = preprocess(scan.with_projections(transmission), dataclasses.replace(
        NO_CENTRE, normalize=False, remove_outliers=False, ring_removal=False))
    np.testing.assert_allclose(out.projections, -np.log(transmission), atol=1e-6)
    assert out.metadata["preprocess"]["steps"] == ["minus_log"]


def test_line_integrals_skip_normalization_and_keep_their_values():
    scan = _counts_scan()
    data = np.random.default_rng(0).uniform(0, 2, scan.projections.shape).astype(np.float64)
    li = Scan(data, scan.geometry, "line_integrals")
    out = preprocess(li, dataclasses.replace(NO_CENTRE, remove_outliers=False, ring_removal=False))
    np.testing.assert_allclose(out.projections, data, rtol=1e-6)
    assert out.metadata["preprocess"]["normalization"].startswith("skipped")
    assert out.metadata["preprocess"]["steps"] == []


def test_flats_darker_than_darks_and_nan_projections_raise_from_the_pipeline():
    scan = _counts_scan()
    swapped = dataclasses.replace(scan, flats=scan.darks, darks=scan.flats)
    with pytest.raises(FathomInputError, match="not brighter than the dark field at 100.0%"):
        preprocess(swapped, NO_CENTRE)
    bad = scan.projections.astype(np.float32)
    bad[5, 2, 3] = np.nan
    with pytest.raises(FathomInputError, match="NaN or infinite values.*projection 5"):
        preprocess(scan.with_projections(bad), NO_CENTRE)


def test_transmission_clamped_by_minus_log_is_counted_and_repaired():
    scan = _counts_scan()
    projections = scan.projections.copy()
    projections[3, 4, 10] = 50  # below the dark: transmission < 0
    projections[7, 2, 30] = 100  # equal to the dark: transmission 0
    out = preprocess(scan.with_projections(projections), dataclasses.replace(NO_CENTRE, ring_removal=False))
    record = out.metadata["preprocess"]
    assert record["clamped_pixels"] == 2
    assert record["zingers_replaced"] >= 2  # and, being spikes, repaired by outlier removal
    assert out.projections[3, 4, 10] < 1.0 and out.projections[7, 2, 30] < 1.0


def test_beam_hardening_polynomial_is_applied_and_checked():
    p = np.array([0.0, 0.5, 1.0, 2.0], dtype=np.float32)
    np.testing.assert_allclose(linearize_beam_hardening(p, (1.0, 0.1, 0.01)),
                               p + 0.1 * p**2 + 0.01 * p**3, rtol=1e-6)
    np.testing.assert_array_equal(linearize_beam_hardening(p), p)
    scan = _counts_scan()
    plain = preprocess(scan, dataclasses.replace(NO_CENTRE, ring_removal=False))
    corrected = preprocess(scan, dataclasses.replace(NO_CENTRE, ring_removal=False, beam_hardening="1,0.2"))
    expected = plain.projections + 0.2 * plain.projections.astype(np.float64) ** 2
    np.testing.assert_allclose(corrected.projections, expected, rtol=1e-5, atol=1e-6)
    assert "beam_hardening" in corrected.metadata["preprocess"]["steps"]
    with pytest.raises(FathomInputError, match="stops rising"):
        preprocess(scan, dataclasses.replace(NO_CENTRE, beam_hardening=(1.0, -100.0)))


def test_parameters_parse_cli_strings_and_reject_nonsense():
    assert PreprocessParams(beam_hardening="1.0, 0.05").beam_hardening == (1.0, 0.05)
    assert PreprocessParams(beam_hardening=[1, 0.1]).beam_hardening == (1.0, 0.1)
    assert PreprocessParams(center_of_rotation="AUTO").center_of_rotation == "auto"
    assert PreprocessParams(center_of_rotation="-6.5").center_of_rotation == -6.5
    with pytest.raises(FathomInputError, match="center of rotation 'middle'"):
        PreprocessParams(center_of_rotation="middle")
    with pytest.raises(FathomInputError, match="beam-hardening coefficients"):
        PreprocessParams(beam_hardening="one")
    with pytest.raises(FathomInputError, match="outlier-threshold"):
        preprocess(_counts_scan(), PreprocessParams(outlier_threshold=0.0))


def test_parameters_round_trip_through_the_cli_and_the_recipe():
    parser = argparse.ArgumentParser()
    params_module.add_arguments(parser, PreprocessParams)
    args = parser.parse_args(["--no-ring-removal", "--center-of-rotation", "4.5",
                              "--beam-hardening", "1,0.1", "--flat-average", "mean"])
    params = params_module.from_arguments(PreprocessParams, args)
    assert (params.ring_removal, params.center_of_rotation) == (False, 4.5)
    assert (params.beam_hardening, params.flat_average) == ((1.0, 0.1), "mean")
    recipe = params_module.to_recipe(params)
    assert params_module.from_recipe(PreprocessParams, recipe) == params


def test_cancel_raises_cancelled_within_a_second_and_leaves_the_input_alone():
    scan = _counts_scan(n=120, rows=64, cols=160)
    before = _digest(scan.projections)
    token = CancelToken()
    timer = threading.Timer(0.3, token.cancel)
    timer.start()
    start = time.monotonic()
    with pytest.raises(Cancelled):
        preprocess(scan, cancel=token)
    assert time.monotonic() - start < 0.3 + 1.0
    timer.cancel()
    assert _digest(scan.projections) == before


def test_progress_rises_to_one_and_chunks_keep_memory_bounded(monkeypatch):
    monkeypatch.setattr(pipeline_module, "_CHUNK_PIXELS", 8 * 48 * 5)  # five projections a chunk
    scan = _counts_scan()
    reports = []
    out = preprocess(scan, progress=lambda f, m: reports.append((f, m)))
    fractions = [f for f, _ in reports]
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert len(fractions) > 8  # one report per chunk at least
    whole = preprocess(scan)
    np.testing.assert_allclose(out.projections, whole.projections, atol=1e-6)


def test_read_only_memory_mapped_projections_are_read_not_written(tmp_path):
    scan = _counts_scan()
    path = tmp_path / "projections.npy"
    np.save(path, scan.projections)
    mapped = np.load(path, mmap_mode="r")
    out = preprocess(scan.with_projections(mapped), NO_CENTRE)
    assert out.projections.dtype == np.float32
    np.testing.assert_array_equal(np.load(path), scan.projections)


def test_automatic_centre_on_a_short_scan_is_refused_before_any_work():
    scan = _counts_scan().subset(slice(0, 10))  # 10 of 36 projections over 360°: 100°
    reports = []
    with pytest.raises(FathomInputError, match="at least 180°"):
        preprocess(scan, progress=lambda f, m: reports.append(f))
    assert reports == [0.0]
