"""``fathom metrics``: SNR/CNR of two boxes, an edge's width, PSNR/SSIM and defect CNR against a
truth, the package's standard regions, JSON output, and one-line errors for bad input."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from engine.cli import main
from engine.geometry import VolumeGeometry, default_volume
from engine.io import save_json, save_volume
from engine.simulate.package import bga_package, demo_geometry, truth_volume
from engine.volume import Volume


def logistic(x, center, scale):
    return 1.0 / (1.0 + np.exp(-(x - center) / scale))


@pytest.fixture
def phantom(tmp_path):
    """A 30×40×50 volume: material 0.5 for x ≥ 25 (edge 10–90 % width 2·ln9·1.2 voxels), noise 0.02;
    its truth beside it with one defect entry."""
    grid = VolumeGeometry((30, 40, 50), 0.02)
    x = np.arange(50.0)
    truth = np.broadcast_to(np.where(x >= 24.5, 0.5, 0.0), grid.shape).astype(np.float32)
    truth = np.array(truth)
    truth[10:16, 15:21, 5:11] = 1.0  # a bead in the air half
    rng = np.random.default_rng(5)
    data = np.broadcast_to(0.5 * logistic(x, 24.5, 1.2), grid.shape) + rng.normal(0, 0.02, grid.shape)
    data[10:16, 15:21, 5:11] += 1.0
    save_volume(Volume(data.astype(np.float32), grid), tmp_path / "vol.tif")
    save_volume(Volume(truth, grid), tmp_path / "truth.tif")
    oz, oy, ox = grid.origin_mm
    center = [ox + 7.5 * 0.02, oy + 17.5 * 0.02, oz + 12.5 * 0.02]  # (x, y, z) of the bead
    save_json({"defects": [{"kind": "microbead", "center_mm": center, "size_mm": 0.12, "host_mu": 0.0}]},
              tmp_path / "truth.json")
    return tmp_path


def test_two_boxes_give_snr_and_cnr_in_a_table_and_json(phantom, capsys):
    out = phantom / "m.json"
    code = main(["metrics", str(phantom / "vol.tif"), "--roi-a", "5", "5", "35", "20", "30", "10",
                 "--roi-b", "5", "25", "2", "20", "10", "12", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "SNR, a vs b" in printed and "CNR, a on b" in printed
    result = json.loads(out.read_text())
    assert result["snr"] == pytest.approx(0.5 / 0.02, rel=0.1)
    assert result["cnr"] == pytest.approx(0.5 / 0.02, rel=0.1)
    assert result["mean_a"] == pytest.approx(0.5, abs=0.005)


def test_an_edge_line_gives_its_10_90_width_in_voxels_and_mm(phantom, capsys):
    out = phantom / "edge.json"
    assert main(["metrics", str(phantom / "vol.tif"), "--edge", "20", "30", "12", "20", "30", "38",
                 "--edge-band", "4", "--json", str(out)]) == 0
    edge = json.loads(out.read_text())["edge"]
    assert edge["width_voxels"] == pytest.approx(2 * np.log(9) * 1.2, rel=0.1)
    assert edge["width_mm"] == pytest.approx(edge["width_voxels"] * 0.02)
    assert edge["center_voxels_from_start"] == pytest.approx(12.5, abs=0.3)
    assert "edge width" in capsys.readouterr().out


def test_a_truth_gives_psnr_ssim_and_each_defects_contrast_to_noise(phantom):
    out = phantom / "t.json"
    assert main(["metrics", str(phantom / "vol.tif"), "--truth", str(phantom / "truth.tif"),
                 "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert 15 < result["psnr_db"] < 40 and 0 < result["ssim"] < 1
    [bead] = result["defects"]
    assert bead["kind"] == "microbead" and bead["cnr"] == pytest.approx(1.0 / 0.02, rel=0.15)


def test_the_package_regions_measure_a_package_volume(tmp_path):
    truth = truth_volume(bga_package()[0], demo_geometry(4), supersample=1)
    rng = np.random.default_rng(0)
    noisy = truth.data + rng.normal(0, 0.005, truth.data.shape).astype(np.float32)
    save_volume(Volume(noisy, truth.geometry), tmp_path / "package.tif")
    out = tmp_path / "p.json"
    assert truth.geometry == default_volume(demo_geometry(4))
    assert main(["metrics", str(tmp_path / "package.tif"), "--package", "--json", str(out)]) == 0
    package = json.loads(out.read_text())["package"]
    assert package["snr"]["die vs mold"] == pytest.approx(0.010 / 0.005, rel=0.1)
    assert package["snr"]["mold vs air"] == pytest.approx(0.036 / 0.005, rel=0.1)
    assert set(package["edge_width_voxels"]) == {"die_mold_side", "die_mold_top", "mold_air_side",
                                                 "mold_air_top"}
    assert all(w < 1.5 for w in package["edge_width_voxels"].values())  # sharp truth edges


@pytest.mark.parametrize(
    "arguments, message",
    [
        ([], "nothing to measure"),
        (["--roi-a", "0", "0", "0", "2", "2", "2"], "go together"),
        (["--roi-a", *"0 0 0 2 2 2".split(), "--roi-b", *"25 0 0 10 2 2".split()], "does not fit"),
        (["--edge", "20", "30", "2", "20", "30", "20"], "no edge"),
        (["--edge", "20", "30", "2", "20", "30", "60"], "outside"),
        (["--truth", "nowhere.tif"], "does not exist|not found"),
    ],
)
def test_bad_input_ends_in_one_line_and_exit_code_2(phantom, capsys, arguments, message):
    assert main(["metrics", str(phantom / "vol.tif"), *arguments]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fathom: error:") and "\n" not in err
    assert re.search(message, err), err


def test_a_missing_volume_is_a_one_line_error(tmp_path, capsys):
    assert main(["metrics", str(tmp_path / "none.tif"), "--package"]) == 2
    assert capsys.readouterr().err.startswith("fathom: error:")
