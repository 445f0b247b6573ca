"""``fathom recon --method iterative`` and ``fathom tune``: end to end on a small noisy scan."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from engine.geometry import ScanGeometry
from engine.io import load_volume, save_scan_folder
from engine.scan import Scan
from engine.simulate.analytic import Box, Ellipsoid, project

SHAPES = [Ellipsoid((0.0, 0.0, 0.0), (2.4, 2.2, 1.0), 0.05), Box((0.6, 0.3, 0.0), (0.8, 0.6, 0.4), 0.3),
          Ellipsoid((-1.0, -0.6, 0.1), (0.5, 0.5, 0.5), 0.6)]


@pytest.fixture(scope="module")
def scan_folder(tmp_path_factory):
    geometry = ScanGeometry("cone", np.arange(48) * 2 * np.pi / 48, (24, 64), (0.2, 0.2), 100.0, 300.0)
    exact = project(SHAPES, geometry)
    counts = np.random.default_rng(0).poisson(4000 * np.exp(-exact)).astype(np.float32)
    flats = np.random.default_rng(1).poisson(4000, (4, 24, 64)).astype(np.float32)
    folder = tmp_path_factory.mktemp("cli_iterative") / "scan"
    save_scan_folder(Scan(counts, geometry, "counts", flats=flats, darks=np.zeros((1, 24, 64), np.float32)),
                     folder)
    return folder


def test_iterative_recon_records_its_knobs_and_convergence(scan_folder, tmp_path):
    out = tmp_path / "it.tif"
    assert main(["recon", str(scan_folder), "-o", str(out), "--method", "iterative", "--delta", "0.02",
                 "--beta", "20", "--iterations", "3", "--center-of-rotation", "none", "-q"]) == 0
    recipe = json.loads((tmp_path / "it.tif.recipe.json").read_text())
    assert recipe["method"] == "iterative"
    assert recipe["iterative"]["edge_preservation"] == 0.02 and recipe["iterative"]["smoothing"] == 20.0
    assert len(recipe["history"]) == 3
    assert load_volume(out).data.min() >= 0


def test_tune_writes_a_strip_and_a_recipe_that_recon_replays(scan_folder, tmp_path, capsys):
    strip = tmp_path / "strip"
    assert main(["tune", str(scan_folder), "-o", str(strip), "--roi", "2", "4", "4", "10", "24", "24",
                 "--betas", "5", "40", "--iterations", "3", "--guide", "fdk", "--center-of-rotation", "none",
                 "-q"]) == 0
    written = {p.name for p in strip.iterdir()}
    assert {"strip.png", "strip.json", "recipe.json", "beta_0.tif", "beta_1.tif"} <= written
    summary = json.loads((strip / "strip.json").read_text())
    assert summary["smoothings"] == [5.0, 40.0] and summary["suggested"] in (0, 1)
    assert {"snr", "edge_width", "discrepancy"} <= set(summary["metrics"][0])
    recipe = json.loads((strip / "recipe.json").read_text())
    assert recipe["method"] == "iterative"
    assert recipe["iterative"]["smoothing"] == summary["suggested_smoothing"]
    assert isinstance(recipe["iterative"]["edge_preservation"], float)  # 'auto' resolved
    assert recipe["iterative"]["guide"] == "fdk"

    out = tmp_path / "replayed.h5"
    assert main(["recon", str(scan_folder), "-o", str(out), "--recipe", str(strip / "recipe.json"),
                 "-q"]) == 0
    replayed = json.loads((tmp_path / "replayed.h5.recipe.json").read_text())
    assert replayed["method"] == "iterative"
    assert replayed["iterative"]["smoothing"] == summary["suggested_smoothing"]
    assert replayed["guide"]["source"] == "fdk" and replayed["guide"]["edge_fraction"] > 0


def test_iterative_on_an_roi_uses_the_rest_of_the_sample_as_background(scan_folder, tmp_path):
    out = tmp_path / "roi.tif"
    assert main(["recon", str(scan_folder), "-o", str(out), "--method", "iterative", "--delta", "0.02",
                 "--beta", "20", "--iterations", "3", "--roi", "2", "4", "4", "10", "24", "24",
                 "--center-of-rotation", "none", "-q"]) == 0
    volume = load_volume(out)
    assert volume.data.shape == (10, 24, 24)


@pytest.mark.parametrize(
    "options, message",
    [
        (["--beta", "-1"], "beta"),
        (["--delta", "0"], "delta"),
        (["--delta", "soft"], "delta"),
        (["--iterations", "0"], "iterations"),
        (["--roi", "0", "0", "0", "999", "8", "8"], "ROI"),
    ],
)
def test_bad_knobs_are_one_line_and_write_nothing(scan_folder, tmp_path, capsys, options, message):
    out = tmp_path / "bad.tif"
    code = main(["recon", str(scan_folder), "-o", str(out), "--method", "iterative", "--iterations", "2",
                 "--center-of-rotation", "none", "-q", *options])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not out.exists()
