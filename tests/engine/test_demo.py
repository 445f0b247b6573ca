"""The built-in demo package scan: simulated with its truth, cached, reconstructable, and every
defect visible in its FDK reconstruction; the bga2d preset; the standard quality regions."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from engine.cli import main
from engine.errors import FathomInputError
from engine.geometry import default_volume
from engine.io import load_scan, load_volume
from engine.metrics import box_profile, box_values, defect_cnr, defect_regions
from engine.simulate.analytic import voxelize
from engine.simulate.package import (
    DEMO_VERSION,
    MU,
    PRESETS,
    bga_package,
    demo_geometry,
    quality_regions,
    simulate_package,
    simulate_preset,
    stack_package,
)

PACKAGES = ["bga", "stack"]


@pytest.mark.parametrize("preset", PACKAGES)
def test_the_package_fits_the_field_of_view(preset):
    volume = default_volume(demo_geometry())
    (z0, z1), (y0, y1), (x0, x1) = volume.extent_mm()
    radius = min(x1, y1)
    for shape in PRESETS[preset].phantom()[0]:
        x, y, z = shape.center_mm
        assert np.hypot(x, y) + shape.bounding_radius() <= radius, shape
        assert z0 < z < z1, shape


def test_every_defect_the_brief_lists_is_in_the_truth():
    kinds = {d.kind for d in bga_package()[1]}
    assert {"void", "missing_ball", "bridge", "microbead", "cracked_bump", "head_in_pillow",
            "pin1_marker"} <= kinds
    assert {d.kind for d in stack_package()[1]} == {"tsv_void", "void", "non_wet", "bridge", "die_crack",
                                                   "delamination"}


def truth_at_voxel_centres(preset="bga"):
    """A phantom sampled at voxel centres: every value is exactly one material's."""
    return voxelize(PRESETS[preset].phantom()[0], default_volume(demo_geometry(4)), supersample=1)


@pytest.mark.parametrize("preset", PACKAGES)
def test_the_phantom_is_a_partition_into_materials_without_double_counting(preset):
    values = np.unique(truth_at_voxel_centres(preset)).astype(np.float64)
    materials = np.array([0.0, *MU.values()])
    assert np.all(np.min(np.abs(values[:, None] - materials[None, :]), axis=1) < 1e-6), values


@pytest.mark.parametrize("preset", PACKAGES)
def test_the_quality_regions_lie_in_their_materials_and_the_edges_straddle_one_boundary(preset):
    truth = truth_at_voxel_centres(preset)
    grid = default_volume(demo_geometry(4))
    regions = quality_regions(grid, preset)
    spec = PRESETS[preset].quality

    def mu(material):
        return 0.0 if material == "air" else MU[material]

    for name, (_, material) in spec.materials.items():
        assert np.allclose(box_values(truth, regions["materials"][name]), mu(material)), name
        assert box_values(truth, regions["materials"][name]).size >= 2000
    assert regions["pairs"] == [("die", "mold"), ("mold", "air")]
    for name, edge in regions["edges"].items():
        _, profile = box_profile(truth, edge["box"], edge["axis"])
        n = len(profile)
        assert np.allclose(profile[: n // 2 - 1], mu(edge["from"])), name
        assert np.allclose(profile[n // 2 + 2:], mu(edge["to"])), name
        assert edge["start"][edge["axis"]] < edge["end"][edge["axis"]]


def test_quality_regions_outside_the_volume_or_of_a_plane_are_refused():
    grid = default_volume(demo_geometry(4)).sub_volume((0, 0, 0), (10, 10, 10))
    with pytest.raises(FathomInputError, match="outside the volume"):
        quality_regions(grid)
    with pytest.raises(FathomInputError, match="no quality regions for the preset 'bga2d'"):
        quality_regions(default_volume(demo_geometry(4)), "bga2d")


def test_simulated_counts_have_photon_noise_and_flats():
    scan, truth = simulate_package(n_projections=4, counts=5000, seed=1)
    assert scan.values == "counts" and scan.flats.shape[0] == 8 and scan.darks.shape[0] == 8
    air = scan.flats.astype(float).mean(axis=0) - scan.darks.astype(float).mean(axis=0)
    assert air.mean() == pytest.approx(5000, rel=0.01)
    # Poisson: the variance of one flat about the mean flat is about its mean (plus read noise)
    assert np.var(scan.flats[0].astype(float) - scan.flats.mean(axis=0)) == pytest.approx(
        5000 * 7 / 8, rel=0.1)
    assert truth["defects"] and truth["attenuation_per_mm"]["solder"] > truth["attenuation_per_mm"]["copper"]


def test_counts_that_would_saturate_the_detector_are_refused():
    with pytest.raises(FathomInputError, match="16-bit"):
        simulate_preset("bga", n_projections=2, counts=1e6)


def test_fathom_simulate_writes_a_loadable_scan_with_its_truth_volume(tmp_path):
    folder = tmp_path / "sim"
    assert main(["simulate", "--projections", "6", "--counts", "3000", "-o", str(folder)]) == 0
    scan = load_scan(folder)
    assert scan.n_projections == 6
    truth = json.loads((folder / "truth.json").read_text())
    assert truth["preset"] == "bga" and truth["counts"] == 3000
    volume = load_volume(folder / truth["truth_volume"]["file"])
    assert volume.geometry == default_volume(scan.geometry)
    assert truth["truth_volume"]["grid"]["shape"] == list(volume.geometry.shape)
    assert volume.data.dtype == np.float32 and volume.data.max() == pytest.approx(MU["solder"])
    for defect in truth["defects"]:  # the voxel given for each defect is where it is
        z, y, x = (int(round(i)) for i in defect["center_voxel"])
        if defect["kind"] in ("void", "cracked_bump", "head_in_pillow", "missing_ball"):
            assert volume.data[z, y, x] < 0.5, defect  # an absence of solder
        else:
            assert volume.data[z, y, x] > 0.4, defect


def test_fathom_simulate_bga2d_is_a_parallel_sinogram_that_reconstructs(tmp_path):
    folder = tmp_path / "plane"
    assert main(["simulate", "--preset", "bga2d", "-o", str(folder)]) == 0
    scan = load_scan(folder)
    g = scan.geometry
    assert g.beam == "parallel" and scan.projections.shape == (256, 1, 363)
    assert g.angles_rad[0] == pytest.approx(-np.pi / 2) and g.angles_rad[-1] < np.pi / 2
    assert g.angular_range() == pytest.approx(np.pi)
    truth = json.loads((folder / "truth.json").read_text())
    assert [d["kind"] for d in truth["defects"]] == ["microbead"]
    assert len(truth["shapes"]) == 16 * 16 + 1
    out = tmp_path / "plane.tif"
    assert main(["recon", str(folder), "-o", str(out), "-q", "--center-of-rotation", "none"]) == 0
    volume = load_volume(out)
    reference = load_volume(folder / "truth.tif")
    assert volume.data.shape == reference.data.shape == (1, 363, 363)
    mask, surround = defect_regions(truth["defects"][0], volume.geometry, reference.data)
    assert defect_cnr(volume.data, mask, surround) >= 3


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo simulated into a fresh cache (timed) and reconstructed by the README's command."""
    root = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FATHOM_CACHE", str(root / "cache"))
        from engine.simulate.package import ensure_demo_scan

        started = time.perf_counter()
        folder = ensure_demo_scan()
        seconds = time.perf_counter() - started
        out = root / "demo.tif"
        assert main(["recon", "demo", "-o", str(out), "-q"]) == 0
    return {"folder": folder, "seconds": seconds, "volume": out, "root": root}


@pytest.mark.slow
def test_the_demo_is_simulated_within_a_minute_and_cached(demo):
    assert demo["seconds"] <= 60
    assert demo["folder"] == demo["root"] / "cache" / "fathom" / DEMO_VERSION
    assert (demo["folder"] / "scan.json").is_file() and (demo["folder"] / "truth.tif").is_file()
    assert load_scan(demo["folder"]).n_projections == 720


@pytest.mark.slow
def test_the_readme_command_reconstructs_the_demo(demo):
    volume = load_volume(demo["volume"])
    g = volume.geometry
    k = int(round((-0.55 - g.origin_mm[0]) / g.voxel_size_mm[0]))  # the plane of the balls
    ball = volume.data[k, int(round((-0.25 - g.origin_mm[1]) / g.voxel_size_mm[1])),
                       int(round((0.75 - g.origin_mm[2]) / g.voxel_size_mm[2]))]
    assert ball == pytest.approx(1.40, rel=0.2)  # solder


@pytest.mark.slow
def test_fdk_of_the_demo_shows_every_defect_with_a_contrast_to_noise_of_3_or_more(demo):
    volume = load_volume(demo["volume"])
    truth = load_volume(demo["folder"] / "truth.tif")
    assert volume.geometry == truth.geometry  # the README's reconstruction is on the truth's grid
    entries = json.loads((demo["folder"] / "truth.json").read_text())["defects"]
    visibility = {}
    for defect in entries:
        mask, surround = defect_regions(defect, volume.geometry, truth.data)
        visibility[f"{defect['kind']} at {defect['center_mm']}"] = defect_cnr(volume.data, mask, surround)
    assert len(visibility) == len(entries) == 9
    assert min(visibility.values()) >= 3, visibility


def test_fathom_simulate_stack_writes_its_truth_and_metrics_measure_it(tmp_path, capsys):
    folder = tmp_path / "stack"
    assert main(["simulate", "--preset", "stack", "--projections", "6", "-o", str(folder)]) == 0
    truth = json.loads((folder / "truth.json").read_text())
    assert truth["preset"] == "stack" and len(truth["defects"]) == 6
    volume = load_volume(folder / "truth.tif")
    # the voxel given for each defect holds what the defect is made of: solder for the bridge,
    # underfill in the gap under the non-wet bump, air in the rest
    made_of = {"bridge": MU["solder"], "non_wet": MU["underfill"]}
    for defect in truth["defects"]:
        z, y, x = (int(round(i)) for i in defect["center_voxel"])
        assert volume.data[z, y, x] == pytest.approx(made_of.get(defect["kind"], 0.0), abs=1e-6), defect
    out = tmp_path / "m.json"
    assert main(["metrics", str(folder / "truth.tif"), "--package", "stack", "--json", str(out)]) == 0
    package = json.loads(out.read_text())["package"]
    assert set(package["snr"]) == {"die vs mold", "mold vs air"}  # infinite (null) on the noiseless truth
    assert all(w < 1.5 for w in package["edge_width_voxels"].values())


@pytest.mark.slow
def test_fdk_of_the_stack_shows_its_defects(tmp_path):
    folder = tmp_path / "stack"
    assert main(["simulate", "--preset", "stack", "-o", str(folder)]) == 0
    out = tmp_path / "stack.tif"
    assert main(["recon", str(folder), "-o", str(out), "-q", "--center-of-rotation", "none"]) == 0
    volume, truth = load_volume(out), load_volume(folder / "truth.tif")
    visibility = {}
    for defect in json.loads((folder / "truth.json").read_text())["defects"]:
        mask, surround = defect_regions(defect, volume.geometry, truth.data)
        visibility[defect["kind"]] = defect_cnr(volume.data, mask, surround)
    # measured: tsv_void 9.0, void 74, non_wet 5.7, bridge 32; the crack (silicon/air) and the
    # delamination (film/air) have 0.03-0.05/mm of contrast: 2.9 and 2.8, at FDK's limit
    assert min(visibility[k] for k in ("tsv_void", "void", "non_wet", "bridge")) >= 3, visibility
    assert min(visibility["die_crack"], visibility["delamination"]) >= 2, visibility
