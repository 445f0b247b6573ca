"""The built-in demo package scan: simulated with its truth, cached, and reconstructable."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from engine.geometry import default_volume
from engine.io import load_scan
from engine.simulate.package import bga_package, demo_geometry, simulate_package


def test_the_package_fits_the_field_of_view():
    volume = default_volume(demo_geometry())
    (z0, z1), (y0, y1), (x0, x1) = volume.extent_mm()
    radius = min(x1, y1)
    for shape in bga_package()[0]:
        x, y, z = shape.center_mm
        assert np.hypot(x, y) + shape.bounding_radius() <= radius, shape
        assert z0 < z < z1, shape


def test_every_defect_the_brief_lists_is_in_the_truth():
    kinds = {d.kind for d in bga_package()[1]}
    assert {"void", "missing_ball", "bridge", "microbead", "cracked_bump", "head_in_pillow",
            "pin1_marker"} <= kinds


def test_simulated_counts_have_photon_noise_and_flats():
    scan, truth = simulate_package(n_projections=4, counts=5000, seed=1)
    assert scan.values == "counts" and scan.flats.shape[0] == 8 and scan.darks.shape[0] == 8
    air = scan.flats.astype(float).mean(axis=0) - scan.darks.astype(float).mean(axis=0)
    assert air.mean() == pytest.approx(5000, rel=0.01)
    # Poisson: the variance of one flat about the mean flat is about its mean (plus read noise)
    assert np.var(scan.flats[0].astype(float) - scan.flats.mean(axis=0)) == pytest.approx(
        5000 * 7 / 8, rel=0.1)
    assert truth["defects"] and truth["attenuation_per_mm"]["solder"] > truth["attenuation_per_mm"]["copper"]


def test_fathom_simulate_writes_a_loadable_scan_with_its_truth(tmp_path):
    folder = tmp_path / "sim"
    assert main(["simulate", "--projections", "6", "--counts", "3000", "-o", str(folder)]) == 0
    scan = load_scan(folder)
    assert scan.n_projections == 6
    truth = json.loads((folder / "truth.json").read_text())
    assert truth["preset"] == "bga" and truth["counts"] == 3000


@pytest.mark.slow
def test_the_readme_command_reconstructs_the_demo(tmp_path, monkeypatch):
    monkeypatch.setenv("FATHOM_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "demo.tif"
    assert main(["recon", "demo", "-o", str(out), "-q"]) == 0
    from engine.io import load_volume

    volume = load_volume(out)
    g = volume.geometry
    k = int(round((-0.55 - g.origin_mm[0]) / g.voxel_size_mm[0]))  # the plane of the balls
    ball = volume.data[k, int(round((-0.25 - g.origin_mm[1]) / g.voxel_size_mm[1])),
                       int(round((0.75 - g.origin_mm[2]) / g.voxel_size_mm[2]))]
    assert ball == pytest.approx(1.40, rel=0.2)  # solder
    assert (tmp_path / "cache" / "fathom" / "demo-bga-v1" / "scan.json").is_file()
