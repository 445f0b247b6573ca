"""CIL NeXus reader: the real gel fan-beam scan of shared/data, and small files written here."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy import ndimage

from engine.cli import main
from engine.errors import FathomInputError
from engine.fdk import fdk
from engine.geometry import VolumeGeometry
from engine.io import load_scan
from engine.io.cil_nexus import CONFIG, DATA

GEL = "gel_fanbeam_nexus"
# CIL's own reconstruction of the gel: 256² voxels of 0.4 mm / magnification 3
REFERENCE_GRID = VolumeGeometry((1, 256, 256), (0.4 / 3,) * 3)


def _reference(shared_data: Path) -> np.ndarray:
    with h5py.File(shared_data / GEL / "FBP_pre_scan.nxs", "r") as file:
        return file["entry1/tomo_entry/data/data"][()]


def _detail_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of the band-passed centres: the inclusions and their walls, not the round gel
    (which looks the same mirrored)."""
    def band(image):
        return (ndimage.gaussian_filter(image, 1.5) - ndimage.gaussian_filter(image, 6))[60:200, 60:200]
    return float(np.corrcoef(band(a).ravel(), band(b).ravel())[0, 1])


def test_the_gel_scan_reads_with_its_geometry(shared_data):
    scan = load_scan(shared_data / GEL / "data_72.nxs")
    g = scan.geometry
    assert scan.projections.shape == (72, 1, 282)
    assert scan.values == "line_integrals"
    assert g.beam == "cone" and g.source_object_mm == pytest.approx(100.0, abs=1e-3)
    assert g.source_detector_mm == pytest.approx(300.0, abs=1e-3)
    assert g.pixel_size_mm == (0.4, 0.4)
    steps = np.diff(g.angles_rad)
    assert np.ptp(steps) < 1e-6 and abs(steps[0]) == pytest.approx(np.radians(5))
    assert "0 of 17" in scan.metadata["frame"]
    assert not scan.projections.flags.writeable


def test_the_gel_reconstructs_where_cils_own_reconstruction_puts_it(shared_data):
    """Position and handedness: Fathom's FDK of the 36-angle file against CIL's FBP of the same
    gel. A mirrored or turned image correlates at about 0.1, a right one at about 0.8."""
    reference = _reference(shared_data)
    image = fdk(load_scan(shared_data / GEL / "data_36.nxs"), REFERENCE_GRID).data[0]
    right = _detail_correlation(image, reference)
    assert right > 0.6
    for wrong in (image[:, ::-1], image[::-1], image[::-1, ::-1], image.T):
        assert _detail_correlation(wrong, reference) < 0.3
    # amplitude: CIL and Fathom agree on attenuation per mm
    assert image.mean() == pytest.approx(reference.mean(), rel=0.05)


def test_a_frame_picks_one_channel_and_a_missing_one_is_named(shared_data, tmp_path):
    path = shared_data / GEL / "data_36.nxs"
    scan = load_scan(path, frame=5)
    with h5py.File(path, "r") as file:
        channel = file[DATA][5]
    np.testing.assert_array_equal(scan.projections[:, 0, :], channel[:, ::-1])
    with pytest.raises(FathomInputError, match="frame 17 does not exist; pick one from 0 to 16"):
        load_scan(path, frame=17)
    out = tmp_path / "gel.tif"
    assert main(["recon", str(path), "--frame", "5", "-o", str(out), "-q"]) == 0
    assert json.loads(out.with_name("gel.tif.recipe.json").read_text())["frame"] == 5


def _write_cil(path: Path, data: np.ndarray, labels, config: dict, **attrs) -> Path:
    """A CIL-layout NeXus file: ``config`` maps names under /entry1/tomo_entry/config to values."""
    with h5py.File(path, "w") as file:
        dataset = file.create_dataset(DATA, data=data)
        dataset.attrs["data_type"] = "AcquisitionData"
        for i, label in enumerate(labels):
            dataset.attrs[f"dim{i}"] = label
        for key, value in attrs.items():
            dataset.attrs[key] = value
        for name, value in config.items():
            file.create_dataset(f"{CONFIG}/{name}", data=np.asarray(value, dtype=np.float64))
        if "angles" in config:
            file[f"{CONFIG}/angles"].attrs["angle_unit"] = "degree"
    return path


def _cone3d(tmp_path: Path, data: np.ndarray, **changes) -> Path:
    config = {
        "angles": np.arange(data.shape[0]) * 360.0 / data.shape[0],
        "source/position": [0.0, -50.0, 0.0],
        "detector/position": [0.0, 100.0, 0.0],
        "detector/direction_x": [1.0, 0.0, 0.0],
        "detector/direction_y": [0.0, 0.0, 1.0],
        "rotation_axis/position": [0.0, 0.0, 0.0],
        "rotation_axis/direction": [0.0, 0.0, 1.0],
    }
    config.update(changes)
    return _write_cil(tmp_path / "cone.nxs", data, ("angle", "vertical", "horizontal"), config,
                      geometry="cone", dimension="3D", pixel_size_h=0.2, pixel_size_v=0.2,
                      panel_origin="bottom-left")


def test_cil_rows_count_up_from_the_bottom_of_the_panel(tmp_path):
    """Signal only in the panel's highest rows (CIL's last row indices, origin bottom-left) must
    reconstruct at the top of the volume, as Fathom's row 0 is the top row."""
    data = np.zeros((90, 12, 40), np.float32)
    data[:, -3:, 10:30] = 1.0
    scan = load_scan(_cone3d(tmp_path, data))
    assert scan.geometry.source_object_mm == 50.0 and scan.geometry.source_detector_mm == 150.0
    assert scan.projections[:, :3].sum() > 0 and scan.projections[:, 3:].sum() == 0
    volume = fdk(scan, VolumeGeometry((8, 16, 16), 0.2 / 3)).data
    profile = volume.mean(axis=(1, 2))  # slice 0 lowest
    assert profile[-2:].mean() > 5 * abs(profile[:2].mean())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"source/position": None}, "has no source/position"),
        ({"detector/direction_x": [0.8, 0.6, 0.0]}, "detector is turned about the vertical"),
        ({"rotation_axis/direction": [0.0, 0.3, 1.0]}, "Fathom reads CIL scans whose axis is along z only"),
        ({"detector/direction_y": [0.0, 0.2, 1.0]}, "columns are not vertical"),
        ({"detector/position": [0.0, -20.0, 0.0]}, "not beyond the axis"),
        ({"angles": np.arange(5.0)}, "5 angles for 90 projections"),
    ],
)
def test_an_unsupported_or_incomplete_cil_geometry_gets_one_clear_error(tmp_path, changes, message):
    data = np.zeros((90, 12, 40), np.float32)
    missing = [name for name, value in changes.items() if value is None]
    path = _cone3d(tmp_path, data, **{name: value for name, value in changes.items() if value is not None})
    with h5py.File(path, "a") as file:
        for name in missing:
            del file[f"{CONFIG}/{name}"]
    with pytest.raises(FathomInputError, match=message):
        load_scan(path)
    assert h5py.File(path, "r")[DATA].shape == (90, 12, 40)  # read-only: the input is unchanged


def test_a_nan_in_a_cil_file_is_named(tmp_path):
    data = np.zeros((90, 12, 40), np.float32)
    data[7, 3, 4] = np.nan
    with pytest.raises(FathomInputError, match="NaN"):
        load_scan(_cone3d(tmp_path, data))
