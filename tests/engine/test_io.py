"""Scan loading and saving: Fathom's scan folder and HDF5 formats, dispatch, and bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import tifffile

from engine.errors import FathomInputError
from engine.geometry import ScanGeometry
from engine.io import load_scan, save_scan_folder, save_scan_h5, stacks
from engine.progress import Cancelled, CancelToken
from engine.scan import Scan

READER_KEYS = ("format", "source")


def make_scan(
    beam: str = "cone",
    n: int = 12,
    rows: int = 6,
    cols: int = 8,
    dtype=np.uint16,
    values: str = "counts",
    with_fields: bool = True,
    **geometry,
) -> Scan:
    """A small scan with distinct pixel values, flats and darks."""
    rng = np.random.default_rng(7)
    if np.issubdtype(np.dtype(dtype), np.integer):
        projections = rng.integers(100, 60000, size=(n, rows, cols)).astype(dtype)
    else:
        projections = rng.random((n, rows, cols)).astype(dtype)
    if beam == "cone":
        geometry = {"source_object_mm": 40.0, "source_detector_mm": 200.0, **geometry}
    scan_geometry = ScanGeometry(
        beam=beam,
        angles_rad=np.linspace(0, 2 * np.pi, n, endpoint=False),
        detector_shape=(rows, cols),
        pixel_size_mm=geometry.pop("pixel_size_mm", (0.1, 0.125)),
        **geometry,
    )
    flats = darks = None
    if with_fields:
        flats = np.full((3, rows, cols), 61000, dtype=dtype)
        darks = np.full((2, rows, cols), 90, dtype=dtype)
    return Scan(projections, scan_geometry, values, flats, darks, metadata={"sample": "die 4", "kV": 80})


def assert_same_scan(loaded: Scan, original: Scan) -> None:
    assert loaded.projections.dtype == original.projections.dtype
    np.testing.assert_array_equal(loaded.projections, original.projections)
    for name in ("flats", "darks"):
        a, b = getattr(loaded, name), getattr(original, name)
        assert (a is None) == (b is None)
        if b is not None:
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.geometry.angles_rad, original.geometry.angles_rad)
    assert loaded.geometry.to_dict() == original.geometry.to_dict()
    np.testing.assert_array_equal(loaded.geometry.vectors(), original.geometry.vectors())
    assert loaded.values == original.values
    assert {k: v for k, v in loaded.metadata.items() if k not in READER_KEYS} == original.metadata


def write_folder(folder: Path, doc: dict, projections=None, flats=None, darks=None) -> Path:
    """A hand-made scan folder (scan.json as given; TIFFs only for arrays given)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, stack in (("projections.tif", projections), ("flats.tif", flats), ("darks.tif", darks)):
        if stack is not None:
            tifffile.imwrite(folder / name, stack, photometric="minisblack")
    (folder / "scan.json").write_text(json.dumps(doc))
    return folder


def base_doc(n: int = 4) -> dict:
    return {
        "format": "fathom-scan/1",
        "geometry": {
            "type": "cone",
            "source_object_mm": 40.0,
            "source_detector_mm": 200.0,
            "pixel_size_mm": [0.1, 0.1],
        },
        "angles_deg": list(np.linspace(0, 360, n, endpoint=False)),
        "values": "counts",
        "projections": "projections.tif",
    }


def small_stack(n: int = 4, rows: int = 5, cols: int = 7, dtype=np.float32) -> np.ndarray:
    return (np.arange(n * rows * cols, dtype=np.float64).reshape(n, rows, cols) + 1).astype(dtype)


# -- round trips --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "scan",
    [
        make_scan("cone", detector_offset_mm=(0.3, -0.2), rotation_axis_offset_mm=0.15),
        make_scan("cone", detector_tilt_rad=(0.01, 0.0, -0.02)),
        make_scan("parallel", dtype=np.float32, values="line_integrals", with_fields=False),
        make_scan("parallel", n=5, rows=1, cols=9),
    ],
    ids=["cone-offsets", "cone-tilt", "parallel-line-integrals", "sinogram"],
)
def test_scan_folder_round_trip_is_lossless(tmp_path, scan):
    json_path = save_scan_folder(scan, tmp_path / "scan")
    assert json_path == tmp_path / "scan" / "scan.json"
    assert_same_scan(load_scan(tmp_path / "scan"), scan)
    assert_same_scan(load_scan(json_path), scan)


@pytest.mark.parametrize(
    "scan",
    [
        make_scan("cone", detector_offset_mm=(0.3, -0.2), rotation_axis_offset_mm=0.15),
        make_scan("parallel", dtype=np.float32, values="line_integrals", with_fields=False),
    ],
    ids=["cone-offsets", "parallel-line-integrals"],
)
def test_scan_hdf5_round_trip_is_lossless(tmp_path, scan):
    path = save_scan_h5(scan, tmp_path / "scan.h5")
    assert_same_scan(load_scan(path), scan)


def test_scan_hdf5_layout_is_the_documented_one(tmp_path):
    scan = make_scan("cone")
    save_scan_h5(scan, tmp_path / "scan.h5")
    with h5py.File(tmp_path / "scan.h5", "r") as file:
        assert file.attrs["format"] == "fathom-scan/1"
        assert json.loads(file.attrs["geometry"])["source_object_mm"] == 40.0
        assert file.attrs["values"] == "counts"
        assert file["projections"].shape == (12, 6, 8)
        assert file["flats"].shape == (3, 6, 8) and file["darks"].shape == (2, 6, 8)
        np.testing.assert_array_equal(file["angles_rad"][()], scan.geometry.angles_rad)


def test_flat_positions_survive_both_formats(tmp_path):
    scan = make_scan("cone")
    scan = Scan(
        scan.projections,
        scan.geometry,
        "counts",
        scan.flats,
        scan.darks,
        flat_positions=np.array([0, 6, 11]),
        metadata=scan.metadata,
    )
    for loaded in (
        load_scan(save_scan_folder(scan, tmp_path / "f")),
        load_scan(save_scan_h5(scan, tmp_path / "s.h5")),
    ):
        np.testing.assert_array_equal(loaded.flat_positions, [0, 6, 11])


def test_scan_json_written_has_the_design_keys(tmp_path):
    save_scan_folder(make_scan("cone"), tmp_path / "scan")
    doc = json.loads((tmp_path / "scan" / "scan.json").read_text())
    assert doc["format"] == "fathom-scan/1"
    assert doc["geometry"]["type"] == "cone"
    assert doc["projections"] == "projections.tif"
    assert doc["flats"] == "flats.tif" and doc["darks"] == "darks.tif"
    assert len(doc["angles_rad"]) == 12 and doc["values"] == "counts"


def test_scan_folder_accepts_angles_in_degrees_and_a_glob_of_files(tmp_path):
    stack = small_stack(4)
    folder = tmp_path / "scan [2024]"  # pattern characters in the folder's own name
    folder.mkdir()
    for i in range(4):
        tifffile.imwrite(folder / f"proj_{i * 5}.tif", stack[i])  # 0, 5, 10, 15: natural order
    doc = base_doc(4) | {"projections": "proj_*.tif"}
    (folder / "scan.json").write_text(json.dumps(doc))
    scan = load_scan(folder)
    np.testing.assert_array_equal(scan.projections, stack)
    np.testing.assert_allclose(scan.geometry.angles_rad, np.radians([0, 90, 180, 270]))


def test_scan_folder_accepts_a_list_of_files(tmp_path):
    stack = small_stack(4)
    folder = tmp_path / "scan"
    folder.mkdir()
    tifffile.imwrite(folder / "a.tif", stack[:3], photometric="minisblack")
    tifffile.imwrite(folder / "b.tif", stack[3])
    (folder / "scan.json").write_text(json.dumps(base_doc(4) | {"projections": ["a.tif", "b.tif"]}))
    np.testing.assert_array_equal(load_scan(folder).projections, stack)


def test_large_projection_tiff_is_memory_mapped_read_only_and_left_unchanged(tmp_path, monkeypatch):
    save_scan_folder(make_scan("cone", dtype=np.float32), tmp_path / "scan")
    digest = hashlib.sha256((tmp_path / "scan" / "projections.tif").read_bytes()).hexdigest()
    monkeypatch.setattr(stacks, "MEMMAP_MIN_BYTES", 0)
    scan = load_scan(tmp_path / "scan")
    assert isinstance(scan.projections, np.memmap)
    with pytest.raises(ValueError):
        scan.projections[0, 0, 0] = 1.0
    assert hashlib.sha256((tmp_path / "scan" / "projections.tif").read_bytes()).hexdigest() == digest


def test_large_hdf5_projections_are_memory_mapped(tmp_path, monkeypatch):
    scan = make_scan("cone")
    save_scan_h5(scan, tmp_path / "scan.h5")
    monkeypatch.setattr(stacks, "MEMMAP_MIN_BYTES", 0)
    loaded = load_scan(tmp_path / "scan.h5")
    assert isinstance(loaded.projections, np.memmap)
    np.testing.assert_array_equal(loaded.projections, scan.projections)


def test_load_reports_progress_up_to_one_and_stops_when_cancelled(tmp_path):
    save_scan_folder(make_scan("cone"), tmp_path / "scan")
    fractions = []
    load_scan(tmp_path / "scan", progress=lambda f, m: fractions.append(f))
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        load_scan(tmp_path / "scan", cancel=token)


def test_save_scan_folder_will_not_replace_an_existing_scan_unless_asked(tmp_path):
    scan = make_scan("cone")
    save_scan_folder(scan, tmp_path / "scan")
    with pytest.raises(FathomInputError, match="already holds scan.json, projections.tif.*overwrite=True"):
        save_scan_folder(scan, tmp_path / "scan")
    other = make_scan("parallel", with_fields=False)
    save_scan_folder(other, tmp_path / "scan", overwrite=True)
    assert load_scan(tmp_path / "scan").geometry.beam == "parallel"


def test_cancelled_save_scan_folder_leaves_no_folder_behind(tmp_path):
    token = CancelToken()

    def cancel_midway(fraction, message):
        if fraction > 0.3:
            token.cancel()

    with pytest.raises(Cancelled):
        save_scan_folder(make_scan("cone"), tmp_path / "scan", progress=cancel_midway, cancel=token)
    assert not (tmp_path / "scan").exists()


def test_cancelled_save_scan_h5_leaves_nothing(tmp_path):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        save_scan_h5(make_scan("cone"), tmp_path / "scan.h5", cancel=token)
    assert list(tmp_path.iterdir()) == []


# -- dispatch -----------------------------------------------------------------------------------
def test_missing_path_is_reported(tmp_path):
    with pytest.raises(FathomInputError, match="does not exist: check the path"):
        load_scan(tmp_path / "nowhere")


def test_unsupported_file_names_the_supported_formats(tmp_path):
    (tmp_path / "scan.raw").write_bytes(b"\0" * 64)
    with pytest.raises(FathomInputError, match="not a scan format Fathom reads.*Data Exchange"):
        load_scan(tmp_path / "scan.raw")


def test_single_tiff_stack_asks_for_a_scan_json(tmp_path):
    tifffile.imwrite(tmp_path / "stack.tif", small_stack(), photometric="minisblack")
    with pytest.raises(FathomInputError, match="needs a scan.json"):
        load_scan(tmp_path / "stack.tif")


def test_empty_folder_names_the_supported_formats(tmp_path):
    with pytest.raises(FathomInputError, match="holds no scan.json and no TIFF images.*Fathom scan folder"):
        load_scan(tmp_path)


def test_hdf5_of_unknown_layout_names_the_supported_formats(tmp_path):
    with h5py.File(tmp_path / "other.nxs", "w") as file:
        file["entry/data"] = np.zeros((2, 3, 4))
    with pytest.raises(FathomInputError, match="layout Fathom does not read.*Data Exchange"):
        load_scan(tmp_path / "other.nxs")


# -- bad input: files ---------------------------------------------------------------------------
def test_garbage_named_tif_is_reported_as_unreadable(tmp_path):
    folder = write_folder(tmp_path / "scan", base_doc(4))
    (folder / "projections.tif").write_bytes(b"this is not a tiff" * 20)
    with pytest.raises(
        FathomInputError, match=r"cannot read .*projections.tif as a TIFF file.*export it again"
    ):
        load_scan(folder)


def test_truncated_tiff_is_reported_as_unreadable(tmp_path):
    folder = write_folder(tmp_path / "scan", base_doc(4), projections=small_stack(4))
    data = (folder / "projections.tif").read_bytes()
    (folder / "projections.tif").write_bytes(data[: len(data) // 2])
    with pytest.raises(FathomInputError, match=r"cannot read .*projections.tif.*damaged"):
        load_scan(folder)


def test_truncated_tiff_is_reported_when_memory_mapping_too(tmp_path, monkeypatch):
    monkeypatch.setattr(stacks, "MEMMAP_MIN_BYTES", 0)
    folder = write_folder(tmp_path / "scan", base_doc(4), projections=small_stack(4, 50, 50))
    data = (folder / "projections.tif").read_bytes()
    (folder / "projections.tif").write_bytes(data[:-3000])
    with pytest.raises(FathomInputError, match=r"cannot read .*projections.tif"):
        load_scan(folder)


@pytest.mark.parametrize("name", ["scan.h5", "scan.hdf5", "scan.nxs"])
def test_garbage_named_h5_is_reported_as_unreadable(tmp_path, name):
    (tmp_path / name).write_bytes(b"garbage" * 100)
    with pytest.raises(FathomInputError, match="cannot read .* as an HDF5 file.*copy or export it again"):
        load_scan(tmp_path / name)


def test_truncated_h5_is_reported_as_unreadable(tmp_path):
    save_scan_h5(make_scan("cone"), tmp_path / "scan.h5")
    data = (tmp_path / "scan.h5").read_bytes()
    (tmp_path / "scan.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(FathomInputError, match="as an HDF5 file"):
        load_scan(tmp_path / "scan.h5")


def test_missing_projections_file_named_in_scan_json(tmp_path):
    folder = write_folder(tmp_path / "scan", base_doc(4))
    with pytest.raises(
        FathomInputError, match="names the projections file 'projections.tif'.*put the file beside"
    ):
        load_scan(folder)


def test_missing_flats_file_named_in_scan_json(tmp_path):
    folder = write_folder(tmp_path / "scan", base_doc(4) | {"flats": "flats.tif"}, projections=small_stack(4))
    with pytest.raises(FathomInputError, match="names the flats file 'flats.tif'"):
        load_scan(folder)


def test_glob_matching_nothing_is_reported(tmp_path):
    folder = write_folder(tmp_path / "scan", base_doc(4) | {"projections": "p_*.tif"})
    with pytest.raises(FathomInputError, match="pattern 'p_\\*.tif' matches no file"):
        load_scan(folder)


def test_invalid_json_is_reported_with_its_position(tmp_path):
    folder = tmp_path / "scan"
    folder.mkdir()
    (folder / "scan.json").write_text('{"geometry": {"type": "cone",}')
    with pytest.raises(FathomInputError, match="not valid JSON .*line 1.*fix the file"):
        load_scan(folder)


# -- bad input: content -------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["geometry", "values", "projections"])
def test_missing_required_key_in_scan_json_is_named(tmp_path, key):
    doc = base_doc(4)
    del doc[key]
    folder = write_folder(tmp_path / "scan", doc, projections=small_stack(4))
    with pytest.raises(FathomInputError, match=f'lacks the required key\\(s\\) "{key}": add'):
        load_scan(folder)


def test_missing_angles_in_scan_json_are_named(tmp_path):
    doc = base_doc(4)
    del doc["angles_deg"]
    folder = write_folder(tmp_path / "scan", doc, projections=small_stack(4))
    with pytest.raises(FathomInputError, match='no projection angles: add "angles_rad"'):
        load_scan(folder)


@pytest.mark.parametrize("key", ["type", "pixel_size_mm"])
def test_missing_geometry_key_is_named(tmp_path, key):
    doc = base_doc(4)
    del doc["geometry"][key]
    folder = write_folder(tmp_path / "scan", doc, projections=small_stack(4))
    with pytest.raises(FathomInputError, match=f'geometry has no "{key}": add it'):
        load_scan(folder)


def test_cone_geometry_without_distances_is_reported(tmp_path):
    doc = base_doc(4)
    del doc["geometry"]["source_detector_mm"]
    folder = write_folder(tmp_path / "scan", doc, projections=small_stack(4))
    with pytest.raises(FathomInputError, match='scan.json: the geometry has no "source_detector_mm": add it'):
        load_scan(folder)


def test_unknown_values_are_reported(tmp_path):
    folder = write_folder(tmp_path / "scan", base_doc(4) | {"values": "photons"}, projections=small_stack(4))
    with pytest.raises(FathomInputError, match="values 'photons' unknown: use \"counts\""):
        load_scan(folder)


def test_newer_format_version_asks_for_an_update(tmp_path):
    folder = write_folder(
        tmp_path / "scan", base_doc(4) | {"format": "fathom-scan/2"}, projections=small_stack(4)
    )
    with pytest.raises(FathomInputError, match="newer than this Fathom reads.*update Fathom"):
        load_scan(folder)


def test_angle_count_differing_from_projection_count_is_reported(tmp_path):
    folder = write_folder(tmp_path / "scan", base_doc(5), projections=small_stack(4))
    with pytest.raises(
        FathomInputError, match="lists 5 angles but .* holds 4 projections: give one angle per"
    ):
        load_scan(folder)


def test_angle_count_differing_in_hdf5_is_reported(tmp_path):
    save_scan_h5(make_scan("cone"), tmp_path / "scan.h5")
    with h5py.File(tmp_path / "scan.h5", "a") as file:
        del file["angles_rad"]
        file["angles_rad"] = np.zeros(5)
    with pytest.raises(FathomInputError, match="lists 5 angles but /projections holds 12 projections"):
        load_scan(tmp_path / "scan.h5")


def test_flats_of_another_size_are_reported(tmp_path):
    doc = base_doc(4) | {"flats": "flats.tif"}
    folder = write_folder(
        tmp_path / "scan", doc, projections=small_stack(4, 5, 7), flats=small_stack(2, 4, 7)
    )
    with pytest.raises(
        FathomInputError, match="flats in .* are 4×7 pixels but the projections are 5×7: use flats"
    ):
        load_scan(folder)


def test_darks_of_another_size_in_hdf5_are_reported(tmp_path):
    save_scan_h5(make_scan("cone"), tmp_path / "scan.h5")
    with h5py.File(tmp_path / "scan.h5", "a") as file:
        del file["darks"]
        file["darks"] = np.zeros((2, 6, 9), np.uint16)
    with pytest.raises(FathomInputError, match="darks .* are 6×9 pixels but the projections are 6×8"):
        load_scan(tmp_path / "scan.h5")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_projection_pixels_are_reported(tmp_path, bad):
    stack = small_stack(4)
    stack[2, 3, 1] = bad
    folder = write_folder(tmp_path / "scan", base_doc(4), projections=stack)
    with pytest.raises(
        FathomInputError, match="NaN or infinite pixel values in 1 image \\(first: index 2\\)"
    ):
        load_scan(folder)


def test_non_finite_pixels_are_found_in_every_chunk_of_a_memory_mapped_stack(tmp_path, monkeypatch):
    monkeypatch.setattr(stacks, "MEMMAP_MIN_BYTES", 0)
    monkeypatch.setattr(stacks, "FINITE_CHECK_CHUNK_BYTES", 1)  # one image per chunk
    stack = small_stack(6)
    stack[5, 4, 6] = np.nan  # the very last pixel
    folder = write_folder(tmp_path / "scan", base_doc(6), projections=stack)
    with pytest.raises(FathomInputError, match="first: index 5"):
        load_scan(folder)


def test_non_finite_flats_are_reported(tmp_path):
    flats = small_stack(2)
    flats[1, 0, 0] = np.nan
    doc = base_doc(4) | {"flats": "flats.tif"}
    folder = write_folder(tmp_path / "scan", doc, projections=small_stack(4), flats=flats)
    with pytest.raises(FathomInputError, match="flats in .* hold NaN"):
        load_scan(folder)


def test_non_finite_pixels_in_hdf5_are_reported(tmp_path):
    scan = make_scan("parallel", dtype=np.float32, values="line_integrals", with_fields=False)
    save_scan_h5(scan, tmp_path / "scan.h5")
    with h5py.File(tmp_path / "scan.h5", "a") as file:
        file["projections"][3, 0, 0] = np.inf
    with pytest.raises(FathomInputError, match="index 3"):
        load_scan(tmp_path / "scan.h5")


def test_source_detector_shorter_than_source_object_is_reported(tmp_path):
    doc = base_doc(4)
    doc["geometry"] |= {"source_object_mm": 200.0, "source_detector_mm": 40.0}
    folder = write_folder(tmp_path / "scan", doc, projections=small_stack(4))
    with pytest.raises(
        FathomInputError, match="scan.json: source-detector distance .* must be larger.*swapped"
    ):
        load_scan(folder)


def test_negative_distance_is_reported(tmp_path):
    doc = base_doc(4)
    doc["geometry"]["source_object_mm"] = -40.0
    folder = write_folder(tmp_path / "scan", doc, projections=small_stack(4))
    with pytest.raises(FathomInputError, match="must be positive"):
        load_scan(folder)


def test_non_numeric_geometry_value_is_reported(tmp_path):
    doc = base_doc(4)
    doc["geometry"]["rotation_axis_offset_mm"] = "left"
    folder = write_folder(tmp_path / "scan", doc, projections=small_stack(4))
    with pytest.raises(FathomInputError, match='geometry value is not a number.*fix the "geometry"'):
        load_scan(folder)


def test_bad_distance_in_hdf5_geometry_is_reported(tmp_path):
    save_scan_h5(make_scan("cone"), tmp_path / "scan.h5")
    with h5py.File(tmp_path / "scan.h5", "a") as file:
        geometry = json.loads(file.attrs["geometry"]) | {"source_detector_mm": 10.0}
        file.attrs["geometry"] = json.dumps(geometry)
    with pytest.raises(FathomInputError, match="must be larger than source-object"):
        load_scan(tmp_path / "scan.h5")


def test_unknown_values_in_hdf5_are_reported(tmp_path):
    save_scan_h5(make_scan("cone"), tmp_path / "scan.h5")
    with h5py.File(tmp_path / "scan.h5", "a") as file:
        file.attrs["values"] = "intensity"
    with pytest.raises(FathomInputError, match="values 'intensity' unknown"):
        load_scan(tmp_path / "scan.h5")


def test_colour_tiff_is_refused(tmp_path):
    folder = write_folder(tmp_path / "scan", base_doc(4))
    tifffile.imwrite(folder / "projections.tif", np.zeros((4, 5, 7, 3), np.uint8), photometric="rgb")
    with pytest.raises(FathomInputError, match="colour \\(RGB\\) images: save greyscale"):
        load_scan(folder)


def test_save_scan_folder_never_replaces_a_stray_projection_stack(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    tifffile.imwrite(folder / "projections.tif", small_stack(4), photometric="minisblack")
    before = (folder / "projections.tif").read_bytes()
    with pytest.raises(FathomInputError, match="already holds projections.tif"):
        save_scan_folder(make_scan("cone"), folder)
    assert (folder / "projections.tif").read_bytes() == before
