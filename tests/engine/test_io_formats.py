"""Foreign scan formats: Data Exchange HDF5 and folders of TIFF images, on real and made-up data."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import tifffile

from engine.errors import FathomInputError
from engine.io import load_scan
from engine.io.tiff_folder import projection_angles

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def shared(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"shared test data {path} not present")
    return path


# -- real data ----------------------------------------------------------------------------------
def test_tooth_data_exchange_loads_with_its_angles_flats_and_darks():
    scan = load_scan(shared("tooth_dxchange") / "tooth.h5")
    assert scan.projections.shape == (181, 2, 640)
    assert scan.flats.shape == (10, 2, 640) and scan.darks.shape == (10, 2, 640)
    assert scan.values == "counts"
    assert scan.geometry.beam == "parallel"
    assert scan.geometry.pixel_size_mm == (1.0, 1.0)
    assert "unknown" in scan.metadata["pixel_size"]
    angles_deg = np.degrees(scan.geometry.angles_rad)
    assert angles_deg[0] == pytest.approx(0.0)
    assert angles_deg[-1] == pytest.approx(179.0055, abs=1e-3)
    assert np.allclose(np.diff(angles_deg), 180 / 181)
    assert scan.metadata["sample"] == "Tooth"


def test_savu_tiff_folder_loads_91_projections_with_their_angles():
    scan = load_scan(shared("savu_tiffs_parallel"))
    assert scan.projections.shape == (91, 135, 160)
    assert scan.projections.dtype == np.uint16
    assert scan.flats.shape == (1, 135, 160) and scan.darks.shape == (1, 135, 160)
    assert scan.values == "counts" and scan.geometry.beam == "parallel"
    angles_deg = np.degrees(scan.geometry.angles_rad)
    assert angles_deg[0] == pytest.approx(-88.2, abs=1e-3)
    assert angles_deg[-1] == pytest.approx(91.8, abs=1e-3)
    assert np.allclose(np.diff(angles_deg), 2.0, atol=1e-3)
    assert "entries 11–101 of the 111" in scan.metadata["angles"]
    assert "unknown" in scan.metadata["pixel_size"]
    first = tifffile.imread(shared("savu_tiffs_parallel") / "tiffs" / "raw_00000.tiff")
    np.testing.assert_array_equal(scan.projections[0], first)


# -- Data Exchange ------------------------------------------------------------------------------
def write_exchange(path: Path, n: int = 6, theta=True, white=(2, 4, 5), dark=(2, 4, 5), units=None) -> Path:
    with h5py.File(path, "w") as file:
        file["exchange/data"] = np.arange(n * 20, dtype=np.float32).reshape(n, 4, 5) + 100
        if white:
            file["exchange/data_white"] = np.full(white, 1000, np.float32)
        if dark:
            file["exchange/data_dark"] = np.full(dark, 10, np.float32)
        if theta is not False:
            values = np.linspace(0, 180, n, endpoint=False) if theta is True else theta
            file["exchange/theta"] = values
            if units:
                file["exchange/theta"].attrs["units"] = units
    return path


def test_data_exchange_theta_in_degrees_becomes_radians(tmp_path):
    scan = load_scan(write_exchange(tmp_path / "scan.h5"))
    np.testing.assert_allclose(scan.geometry.angles_rad, np.radians(np.linspace(0, 180, 6, endpoint=False)))


def test_data_exchange_theta_marked_radians_is_kept(tmp_path):
    theta = np.linspace(0, np.pi, 6, endpoint=False)
    scan = load_scan(write_exchange(tmp_path / "scan.h5", theta=theta, units="rad"))
    np.testing.assert_allclose(scan.geometry.angles_rad, theta)


def test_data_exchange_without_flats_and_darks_loads(tmp_path):
    scan = load_scan(write_exchange(tmp_path / "scan.hdf", white=None, dark=None))
    assert scan.flats is None and scan.darks is None


def test_data_exchange_without_theta_asks_for_it(tmp_path):
    with pytest.raises(FathomInputError, match="no /exchange/theta: add the rotation angle"):
        load_scan(write_exchange(tmp_path / "scan.h5", theta=False))


def test_data_exchange_angle_count_mismatch_is_reported(tmp_path):
    path = write_exchange(tmp_path / "scan.h5", theta=np.arange(5.0))
    with pytest.raises(FathomInputError, match="lists 5 angles but /exchange/data holds 6 projections"):
        load_scan(path)


def test_data_exchange_flats_of_another_size_are_reported(tmp_path):
    with pytest.raises(
        FathomInputError, match="flats .*data_white.* are 4×6 pixels but the projections are 4×5"
    ):
        load_scan(write_exchange(tmp_path / "scan.h5", white=(2, 4, 6)))


def test_data_exchange_nan_projection_is_reported(tmp_path):
    path = write_exchange(tmp_path / "scan.h5")
    with h5py.File(path, "a") as file:
        file["exchange/data"][4, 1, 1] = np.nan
    with pytest.raises(FathomInputError, match="NaN or infinite .*index 4"):
        load_scan(path)


# -- folders of TIFF images ---------------------------------------------------------------------
def write_tiff_folder(
    folder: Path, n: int = 5, subfolder: str | None = "tiffs", angles: list[float] | None = None
) -> Path:
    folder.mkdir(parents=True)
    target = folder / subfolder if subfolder else folder
    target.mkdir(exist_ok=True)
    for i in range(n):
        tifffile.imwrite(target / f"img_{i}.tif", np.full((4, 6), 100 + i, np.uint16))
    tifffile.imwrite(folder / "flat_1.tif", np.full((4, 6), 1000, np.uint16))
    tifffile.imwrite(folder / "dark_1.tif", np.full((4, 6), 5, np.uint16))
    if angles is None:
        angles = [10.0 * i for i in range(n)]
    (folder / "angles.txt").write_text("\n".join(str(a) for a in angles) + "\n")
    return folder


def test_tiff_folder_with_images_beside_flats_and_darks_loads_in_natural_order(tmp_path):
    folder = write_tiff_folder(tmp_path / "scan", n=12, subfolder=None)
    scan = load_scan(folder)
    assert scan.projections.shape == (12, 4, 6)
    np.testing.assert_array_equal(scan.projections[:, 0, 0], 100 + np.arange(12))  # img_10 after img_9
    assert scan.flats[0, 0, 0] == 1000 and scan.darks[0, 0, 0] == 5


def test_tiff_folder_with_flat_and_dark_subfolders_loads(tmp_path):
    folder = write_tiff_folder(tmp_path / "scan", n=3)
    (folder / "flat_1.tif").rename(folder / "moved.tmp")
    (folder / "flats").mkdir()
    (folder / "moved.tmp").rename(folder / "flats" / "f0.tif")
    scan = load_scan(folder)
    assert scan.flats.shape == (1, 4, 6) and scan.projections.shape == (3, 4, 6)


def test_tiff_folder_angles_with_repeats_for_flats_and_darks_are_picked(tmp_path):
    angles = [0.0] * 3 + [0.0, 45.0, 90.0, 135.0, 180.00001] + [180.0] * 2
    scan = load_scan(write_tiff_folder(tmp_path / "scan", n=5, angles=angles))
    np.testing.assert_allclose(np.degrees(scan.geometry.angles_rad), [0, 45, 90, 135, 180], atol=1e-4)


def test_tiff_folder_without_angles_file_asks_for_one(tmp_path):
    folder = write_tiff_folder(tmp_path / "scan")
    (folder / "angles.txt").unlink()
    with pytest.raises(FathomInputError, match="has no angles.txt: add one .* in degrees"):
        load_scan(folder)


def test_tiff_folder_with_too_few_angles_is_reported(tmp_path):
    with pytest.raises(FathomInputError, match="lists 3 angles but there are 5 projections"):
        load_scan(write_tiff_folder(tmp_path / "scan", angles=[0, 1, 2]))


def test_tiff_folder_with_ambiguous_extra_angles_is_reported(tmp_path):
    angles = [10.0 * i for i in range(8)]  # 8 evenly spaced: any 5 in a row would fit
    with pytest.raises(FathomInputError, match="not clear which belong to the projections: list only"):
        load_scan(write_tiff_folder(tmp_path / "scan", angles=angles))


def test_tiff_folder_with_a_non_number_in_angles_is_reported(tmp_path):
    with pytest.raises(FathomInputError, match="line 2 \\('ten'\\) is not one number"):
        load_scan(write_tiff_folder(tmp_path / "scan", angles=["0", "ten", "20", "30", "40"]))


def test_tiff_folder_with_images_of_different_sizes_is_reported(tmp_path):
    folder = write_tiff_folder(tmp_path / "scan")
    tifffile.imwrite(folder / "tiffs" / "img_3.tif", np.zeros((5, 6), np.uint16))
    with pytest.raises(FathomInputError, match="img_3.tif holds 5×6 uint16 images but img_0.tif holds 4×6"):
        load_scan(folder)


def test_tiff_folder_with_a_damaged_image_is_reported(tmp_path):
    folder = write_tiff_folder(tmp_path / "scan")
    (folder / "tiffs" / "img_2.tif").write_bytes(b"II*\0garbage")
    with pytest.raises(FathomInputError, match="img_2.tif holds no readable image.*export it again"):
        load_scan(folder)


def test_tiff_folder_flats_of_another_size_are_reported(tmp_path):
    folder = write_tiff_folder(tmp_path / "scan")
    tifffile.imwrite(folder / "flat_1.tif", np.zeros((4, 7), np.uint16))
    with pytest.raises(FathomInputError, match="flats in .* are 4×7 pixels but the projections are 4×6"):
        load_scan(folder)


def test_tiff_folder_with_projections_in_two_places_is_reported(tmp_path):
    folder = write_tiff_folder(tmp_path / "scan")
    tifffile.imwrite(folder / "stray.tif", np.zeros((4, 6), np.uint16))
    with pytest.raises(FathomInputError, match="projection TIFFs in several places"):
        load_scan(folder)


def test_projection_angles_rule_picks_the_one_regular_run():
    listed = np.r_[np.full(11, -88.2), -88.2 + 2.0 * np.arange(1, 90), 91.7999, np.full(10, 91.8)]
    # As in Savu's file: 11 entries at the start angle (the last is the first projection).
    angles, first = projection_angles(listed, 91, "angles.txt")
    assert first == 10 and angles.size == 91
    assert angles[0] == -88.2 and angles[-1] == pytest.approx(91.8, abs=1e-3)


def test_projection_angles_rule_uses_the_list_as_is_when_counts_match():
    listed = np.array([5.0, 1.0, 3.0])  # not even ordered: one angle per projection is trusted
    angles, first = projection_angles(listed, 3, "angles.txt")
    assert first == 0 and np.array_equal(angles, listed)
