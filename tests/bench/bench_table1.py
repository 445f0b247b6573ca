"""Table 1 of the ZEISS note, for the built-in demo package: image quality against scan length.

The demo scan (720 projections, cached after the first run) is reconstructed from all of its
projections, every second and every fourth one (full, half and quarter scan time), and measured
at the package's standard regions (:func:`engine.simulate.package.quality_regions`): SNR of the
die against the mold and of the mold against air (ZEISS definition), the 10–90 % width of the
die/mold and mold/air edges (logistic fit to the region's mean profile, in voxels), and PSNR and
SSIM against the voxelized truth, and the contrast-to-noise of the small defects (the weakest
void, the microbead, the cracked bump) at their truth positions. Preprocessing runs with its defaults except the centre of
rotation, which the simulation knows exactly. Each engine is a column group; an engine not in
this version yet prints "—" (add it to ``ENGINES`` when it lands).

``--scan FOLDER`` measures another simulated scan instead of the demo: a noisier or cleaner
scan of the demo package, or the ``stack`` package (the knobs' rules must hold beyond the
demo). The package's preset, read from its truth.json, picks the regions; the defect rows are
the weakest of each kind of defect in its truth:

    fathom simulate --preset bga --counts 5000 --seed 7 -o noisy/
    fathom simulate --preset stack -o stack/
    PYTHONPATH=. python tests/bench/bench_table1.py [--engines fdk] [--scan noisy/]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from common import machine

from engine.fdk import FDKParams, fdk
from engine.io import load_scan, load_volume
from engine.iterative import IterativeParams, iterative
from engine.metrics import defect_cnr, defect_regions, psnr, ssim
from engine.preprocess import PreprocessParams, preprocess
from engine.simulate.package import ensure_demo_scan, measure_package


def run_fdk(scan, grid):
    return fdk(scan, grid, FDKParams(), device="cpu")


def run_iterative(scan, grid):
    """PWLS with both knobs automatic (δ proposed, β by the discrepancy rule on a central strip)."""
    return iterative(scan, grid, IterativeParams(), device="auto")


def run_guided(scan, grid):
    """The same, with the penalty guided by the FDK's edges (``--guide fdk``)."""
    return iterative(scan, grid, IterativeParams(guide="fdk"), device="auto")


# name → function(line-integral scan, volume grid) → Volume; deep joins here
ENGINES = {"FDK": run_fdk, "iterative": run_iterative, "guided": run_guided}
PLANNED = ("deep",)
FRACTIONS = ((1, "full"), (2, "half"), (4, "quarter"))

def table_column(measured: dict) -> dict[str, float]:
    """One column of Table 1: row label → value, from one reconstruction's numbers."""
    column = {f"SNR {pair}": value for pair, value in measured["snr"].items()}
    column.update({f"edge {name.replace('_', ' ')} (voxels)": width
                   for name, width in measured["edge_width_voxels"].items()})
    column["PSNR vs truth (dB)"] = measured["psnr_db"]
    for kind, value in measured["defects"]:
        label = f"CNR {kind.replace('_', ' ')} (weakest)"
        column[label] = min(value, column.get(label, value))
    column.update({"SSIM vs truth": measured["ssim"], "reconstruction (s)": measured["seconds"]})
    return column


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", nargs="*", default=list(ENGINES), choices=list(ENGINES))
    parser.add_argument("--json", help="also write the numbers here")
    parser.add_argument("--scan", type=Path,
                        help="a `fathom simulate` folder of a package preset (default: the demo scan)")
    args = parser.parse_args()

    folder = args.scan or ensure_demo_scan()
    scan = load_scan(folder)
    truth = load_volume(folder / "truth.tif")
    n = scan.n_projections
    described = json.loads((folder / "truth.json").read_text())
    preset = described["preset"]
    defects = [(d["kind"], defect_regions(d, truth.geometry, truth.data)) for d in described["defects"]]
    results: dict[tuple[str, int], dict] = {}
    for name in args.engines:
        for step, _ in FRACTIONS:
            part = preprocess(scan.subset(slice(None, None, step)), PreprocessParams(center_of_rotation="none"))
            started = time.perf_counter()
            volume = ENGINES[name](part, truth.geometry)
            seconds = time.perf_counter() - started
            measured = measure_package(volume.data, volume.geometry, preset)
            measured.update(psnr_db=psnr(volume.data, truth.data), ssim=ssim(volume.data, truth.data),
                            seconds=seconds,
                            defects=[(kind, defect_cnr(volume.data, mask, surround))
                                     for kind, (mask, surround) in defects])
            results[(name, step)] = measured
            knobs = volume.recipe.get("iterative")
            chosen = (f" (δ = {knobs['edge_preservation']:.3g}, β = {knobs['smoothing']:.3g})"
                      if knobs else "")
            print(f"{name} {n // step} projections: {seconds:.1f} s{chosen}", flush=True)

    columns = [(name, step) for name in args.engines for step, _ in FRACTIONS]
    columns += [(name, step) for name in PLANNED for step, _ in FRACTIONS if name not in args.engines]
    header = ["", *[f"{name} {n // step} ({label})" for name, step in columns
                    for s, label in FRACTIONS if s == step]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table = {c: table_column(m) for c, m in results.items()}
    for label in next(iter(table.values())):
        cells = [f"{table[c][label]:.3g}" if c in table else "—" for c in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    print(f"\n{preset} package, scan {folder}, {machine()}\n")
    print("\n".join(lines))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({f"{name} {n // step}": m for (name, step), m in results.items()}, f, indent=2)


if __name__ == "__main__":
    main()
