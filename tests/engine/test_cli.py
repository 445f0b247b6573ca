"""The fathom command: real scans end to end, and bad input as one line with no output."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from engine.geometry import ScanGeometry
from engine.io import load_volume, save_scan_folder
from engine.scan import Scan


def _small_scan(tmp_path, **changes):
    """A valid counts scan folder of a cylinder; ``changes`` break it on purpose."""
    angles = np.linspace(0, np.pi, 60, endpoint=False)
    cols = 48
    x = np.arange(cols) - (cols - 1) / 2
    line = 2 * np.sqrt(np.clip(15.0**2 - x**2, 0, None)) * 0.02
    proj = np.broadcast_to(1000 * np.exp(-line), (60, 4, cols)).astype(np.float32)
    proj = changes.pop("projections", proj)
    flats = changes.pop("flats", np.full((2, 4, cols), 1000, np.float32))
    darks = changes.pop("darks", np.zeros((1, 4, cols), np.float32))
    geometry = ScanGeometry("parallel", angles, (4, cols), (0.1, 0.1))
    folder = tmp_path / "scan"
    save_scan_folder(Scan(proj, geometry, "counts", flats=flats, darks=darks), folder)
    return folder


def test_recon_writes_the_volume_and_its_recipe(tmp_path, capsys):
    folder = _small_scan(tmp_path)
    out = tmp_path / "vol.h5"
    assert main(["recon", str(folder), "-o", str(out), "--filter", "hann",
                 "--center-of-rotation", "none"]) == 0
    volume = load_volume(out)
    recipe = json.loads((tmp_path / "vol.h5.recipe.json").read_text())
    assert recipe["fdk"]["filter"] == "hann" and volume.recipe["fdk"]["filter"] == "hann"
    centre = volume.data[2, 20:28, 20:28]
    assert centre.mean() == pytest.approx(0.2, rel=0.05)  # 0.02 /px over 0.1 mm pixels


def test_a_recipe_file_is_replayed(tmp_path):
    folder = _small_scan(tmp_path)
    first = tmp_path / "a.tif"
    assert main(["recon", str(folder), "-o", str(first), "--filter", "cosine", "--cutoff", "0.7",
                 "--center-of-rotation", "none", "-q"]) == 0
    second = tmp_path / "b.tif"
    assert main(["recon", str(folder), "-o", str(second), "--recipe",
                 str(tmp_path / "a.tif.recipe.json"), "-q"]) == 0
    recipe = json.loads((tmp_path / "b.tif.recipe.json").read_text())
    assert recipe["fdk"]["filter"] == "cosine" and recipe["fdk"]["cutoff"] == 0.7
    np.testing.assert_allclose(load_volume(first).data, load_volume(second).data)


def test_info_describes_a_scan(tmp_path, capsys):
    assert main(["info", str(_small_scan(tmp_path))]) == 0
    text = capsys.readouterr().out
    assert "60 projections of 4 rows × 48 columns" in text and "default volume" in text


def _expect_one_line_error(capsys, args, tmp_path, pattern):
    out = tmp_path / "out.tif"
    code = main([*args, "-o", str(out), "-q"] if args[0] == "recon" else args)
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert err.count("\n") == 0 and err.startswith("fathom: error:"), err
    assert pattern in err, err
    assert not out.exists() and not list(tmp_path.glob("out.tif*"))


def test_nan_pixels_are_refused(tmp_path, capsys):
    proj = np.full((60, 4, 48), 500, np.float32)
    proj[7, 1, 3] = np.nan
    folder = _small_scan(tmp_path, projections=proj)
    _expect_one_line_error(capsys, ["recon", str(folder)], tmp_path, "NaN")


def test_flats_darker_than_darks_are_refused(tmp_path, capsys):
    folder = _small_scan(tmp_path, flats=np.full((2, 4, 48), 10, np.float32),
                         darks=np.full((1, 4, 48), 20, np.float32))
    _expect_one_line_error(capsys, ["recon", str(folder)], tmp_path, "flat")


def test_angles_that_do_not_match_the_projections_are_refused(tmp_path, capsys):
    folder = _small_scan(tmp_path)
    meta = json.loads((folder / "scan.json").read_text())
    meta["angles_rad"] = meta["angles_rad"][:-3]
    (folder / "scan.json").write_text(json.dumps(meta))
    _expect_one_line_error(capsys, ["recon", str(folder)], tmp_path, "angle")


def test_flats_of_another_shape_are_refused(tmp_path, capsys):
    folder = _small_scan(tmp_path)
    import tifffile

    tifffile.imwrite(folder / "flats.tif", np.ones((2, 5, 48), np.float32), photometric="minisblack")
    _expect_one_line_error(capsys, ["recon", str(folder)], tmp_path, "flats")


def test_a_detector_closer_than_the_sample_is_refused(tmp_path, capsys):
    folder = _small_scan(tmp_path)
    meta = json.loads((folder / "scan.json").read_text())
    meta["geometry"].update(type="cone", source_object_mm=100.0, source_detector_mm=50.0)
    (folder / "scan.json").write_text(json.dumps(meta))
    _expect_one_line_error(capsys, ["recon", str(folder)], tmp_path, "source-detector")


def test_negative_distances_are_refused(tmp_path, capsys):
    folder = _small_scan(tmp_path)
    meta = json.loads((folder / "scan.json").read_text())
    meta["geometry"].update(type="cone", source_object_mm=-10.0, source_detector_mm=50.0)
    (folder / "scan.json").write_text(json.dumps(meta))
    _expect_one_line_error(capsys, ["recon", str(folder)], tmp_path, "positive")


def test_an_unreadable_file_is_refused(tmp_path, capsys):
    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"this is not HDF5 at all" * 10)
    _expect_one_line_error(capsys, ["recon", str(bad)], tmp_path, "broken.h5")


def test_a_missing_scan_is_refused(tmp_path, capsys):
    _expect_one_line_error(capsys, ["recon", str(tmp_path / "nowhere")], tmp_path, "nowhere")


def test_an_out_of_range_parameter_is_refused(tmp_path, capsys):
    folder = _small_scan(tmp_path)
    _expect_one_line_error(capsys, ["recon", str(folder), "--cutoff", "3"], tmp_path, "cutoff")


def test_an_roi_outside_the_volume_is_refused(tmp_path, capsys):
    folder = _small_scan(tmp_path)
    _expect_one_line_error(capsys, ["recon", str(folder), "--roi", "0", "0", "0", "99", "8", "8"],
                           tmp_path, "ROI")


@pytest.mark.slow
def test_savu_scan_reconstructs_with_the_axis_found(shared_data, tmp_path):
    out = tmp_path / "savu.h5"
    assert main(["recon", str(shared_data / "savu_tiffs_parallel"), "-o", str(out), "-q"]) == 0
    recipe = json.loads((tmp_path / "savu.h5.recipe.json").read_text())
    assert recipe["preprocess_result"]["center_of_rotation"]["offset_px"] == pytest.approx(6.4, abs=0.5)


@pytest.mark.slow
def test_tooth_scan_reconstructs_with_the_axis_found(shared_data, tmp_path):
    out = tmp_path / "tooth.tif"
    assert main(["recon", str(shared_data / "tooth_dxchange" / "tooth.h5"), "-o", str(out), "-q"]) == 0
    recipe = json.loads((tmp_path / "tooth.tif.recipe.json").read_text())
    offset = recipe["preprocess_result"]["center_of_rotation"]["offset_px"]
    assert 319.5 + offset == pytest.approx(296.0, abs=0.5)
    volume = load_volume(out)
    assert volume.data.shape[1] < 640  # the field of view shrinks with the off-centre axis
