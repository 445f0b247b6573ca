"""Volume files (.tif and .h5): round trips with geometry and recipe, the layout contract, atomic writes."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import tifffile

import engine.io.volume_files as volume_files
from engine.errors import FathomInputError
from engine.geometry import VolumeGeometry
from engine.io import load_volume, save_volume, stacks
from engine.progress import Cancelled, CancelToken
from engine.volume import Volume

RECIPE = {
    "method": "fdk",
    "filter": "hann",
    "preprocess": {"flat_dark": True, "rings": None},
    "rotation_axis_offset_mm": np.float64(0.125),
    "shape": (4, 5, 6),
}


def make_volume() -> Volume:
    geometry = VolumeGeometry((4, 5, 6), (0.02, 0.025, 0.03), (1.5, -0.25, 0.75))
    data = np.arange(120, dtype=np.float32).reshape(4, 5, 6) / 7
    return Volume(data, geometry, dict(RECIPE))


def assert_same_volume(loaded: Volume, original: Volume) -> None:
    assert loaded.data.dtype == np.float32
    np.testing.assert_array_equal(loaded.data, original.data)
    assert loaded.geometry.shape == original.geometry.shape
    np.testing.assert_allclose(loaded.geometry.voxel_size_mm, original.geometry.voxel_size_mm, rtol=0, atol=0)
    np.testing.assert_allclose(loaded.geometry.center_mm, original.geometry.center_mm, rtol=0, atol=1e-12)
    np.testing.assert_allclose(loaded.geometry.origin_mm, original.geometry.origin_mm, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["vol.tif", "vol.tiff", "vol.h5", "vol.hdf5"])
def test_volume_round_trip_keeps_data_geometry_and_recipe(tmp_path, name):
    volume = make_volume()
    assert save_volume(volume, tmp_path / name) == tmp_path / name
    loaded = load_volume(tmp_path / name)
    assert_same_volume(loaded, volume)
    assert loaded.recipe == {
        "method": "fdk",
        "filter": "hann",
        "preprocess": {"flat_dark": True, "rings": None},
        "rotation_axis_offset_mm": 0.125,
        "shape": [4, 5, 6],
    }


def test_tiff_page_k_is_slice_z_index_k(tmp_path):
    volume = make_volume()
    save_volume(volume, tmp_path / "vol.tif")
    with tifffile.TiffFile(tmp_path / "vol.tif") as tif:
        assert len(tif.pages) == 4
        np.testing.assert_array_equal(tif.pages[0].asarray(), volume.data[0])  # lowest slice first
        np.testing.assert_array_equal(tif.pages[3].asarray(), volume.data[3])
        assert tif.pages[0].dtype == np.float32
        assert tif.shaped_metadata[0]["fathom"] == "fathom-volume/1"


def test_hdf5_volume_has_the_documented_layout(tmp_path):
    volume = make_volume()
    save_volume(volume, tmp_path / "vol.h5")
    with h5py.File(tmp_path / "vol.h5", "r") as file:
        dataset = file["volume"]
        assert dataset.shape == (4, 5, 6) and dataset.dtype == np.float32
        np.testing.assert_allclose(dataset.attrs["voxel_size_mm"], [0.02, 0.025, 0.03])
        np.testing.assert_allclose(dataset.attrs["origin_mm"], volume.geometry.origin_mm)
        assert '"method": "fdk"' in dataset.attrs["recipe"]


def test_float64_volume_is_written_as_float32(tmp_path):
    volume = make_volume()
    volume.data = volume.data.astype(np.float64)
    for name in ("vol.tif", "vol.h5"):
        save_volume(volume, tmp_path / name)
        assert load_volume(tmp_path / name).data.dtype == np.float32


def test_large_volume_is_memory_mapped_read_only(tmp_path, monkeypatch):
    monkeypatch.setattr(stacks, "MEMMAP_MIN_BYTES", 0)
    for name in ("vol.tif", "vol.h5"):
        save_volume(make_volume(), tmp_path / name)
        loaded = load_volume(tmp_path / name)
        assert isinstance(loaded.data, np.memmap) and not loaded.data.flags.writeable
        assert_same_volume(loaded, make_volume())


def test_volume_beyond_classic_tiff_size_is_written_as_bigtiff(tmp_path, monkeypatch):
    monkeypatch.setattr(stacks, "BIGTIFF_ABOVE_BYTES", 0)
    save_volume(make_volume(), tmp_path / "vol.tif")
    with tifffile.TiffFile(tmp_path / "vol.tif") as tif:
        assert tif.is_bigtiff
    assert_same_volume(load_volume(tmp_path / "vol.tif"), make_volume())


def test_volume_from_another_program_loads_with_unit_voxels(tmp_path):
    tifffile.imwrite(tmp_path / "other.tif", np.ones((3, 4, 5), np.uint16), photometric="minisblack")
    loaded = load_volume(tmp_path / "other.tif")
    assert loaded.data.dtype == np.float32 and loaded.data.shape == (3, 4, 5)
    assert loaded.geometry.voxel_size_mm == (1.0, 1.0, 1.0)
    assert "no Fathom metadata" in loaded.recipe["note"]


def test_unknown_volume_extension_is_refused(tmp_path):
    with pytest.raises(FathomInputError, match="volume files must be a .tif/.tiff .* or .h5/.hdf5"):
        save_volume(make_volume(), tmp_path / "vol.raw")
    assert list(tmp_path.iterdir()) == []


def test_missing_volume_file_is_reported(tmp_path):
    with pytest.raises(FathomInputError, match="volume file .* does not exist"):
        load_volume(tmp_path / "vol.h5")


@pytest.mark.parametrize("name", ["vol.tif", "vol.h5"])
def test_garbage_volume_file_is_reported_as_unreadable(tmp_path, name):
    (tmp_path / name).write_bytes(b"\x00garbage" * 50)
    with pytest.raises(FathomInputError, match="cannot read .* the file is damaged"):
        load_volume(tmp_path / name)


def test_hdf5_without_volume_dataset_is_reported(tmp_path):
    with h5py.File(tmp_path / "vol.h5", "w") as file:
        file["data"] = np.zeros((2, 2, 2))
    with pytest.raises(FathomInputError, match="has no volume at /volume"):
        load_volume(tmp_path / "vol.h5")


def test_output_into_a_missing_folder_is_reported(tmp_path):
    with pytest.raises(FathomInputError, match="folder .* does not exist; create it"):
        save_volume(make_volume(), tmp_path / "nowhere" / "vol.tif")


def test_failed_tiff_write_leaves_nothing_at_the_target(tmp_path, monkeypatch):
    def fail_midway(path, stack, **kwargs):
        path.write_bytes(b"half a file")
        raise RuntimeError("disk went away")

    monkeypatch.setattr(volume_files, "write_tiff_stack", fail_midway)
    with pytest.raises(RuntimeError, match="disk went away"):
        save_volume(make_volume(), tmp_path / "vol.tif")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_file_intact(tmp_path, monkeypatch):
    save_volume(make_volume(), tmp_path / "vol.tif")
    before = (tmp_path / "vol.tif").read_bytes()

    def fail(path, stack, **kwargs):
        path.write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(volume_files, "write_tiff_stack", fail)
    with pytest.raises(FathomInputError, match="No space left on device.*free space"):
        save_volume(make_volume(), tmp_path / "vol.tif")
    assert (tmp_path / "vol.tif").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["vol.tif"]


@pytest.mark.parametrize("name", ["vol.tif", "vol.h5"])
def test_cancelled_volume_write_leaves_nothing(tmp_path, name):
    token = CancelToken()

    def cancel_after_first_slice(fraction, message):
        if fraction > 0:
            token.cancel()

    with pytest.raises(Cancelled):
        save_volume(make_volume(), tmp_path / name, progress=cancel_after_first_slice, cancel=token)
    assert list(tmp_path.iterdir()) == []
