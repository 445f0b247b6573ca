"""Iterative engine on the demo package: preview speed and how good the automatic knobs are.

1. Preview speed: a 16×128×128 preview ROI, 20 iterations, at the demo's 720 projections, at
   360 and at 180 (every second and every fourth one: the half and quarter scans that the
   iterative engine is for); set-up (background projection) timed apart; unguided and with
   edge guidance (``--guide fdk``), and the penalty gradient alone on the demo's volume.
2. Knob grid: PSNR against the truth inside the ROI over a δ × β grid, and where the automatic
   δ with the suggested β lands (done-when: ≥ 90 % of the grid's best PSNR).
3. ``--timeline``: a tuner strip as its user sees it (seconds to the first image, to each
   finished preview), at 720 and 180 projections.
4. ``--full256``: a 256³ volume from 360 projections (the CPU target: ≤ 10 min).
5. ``--large SIZE PROJECTIONS`` (run by default, 512 720, when a GPU is present: the GPU target
   ≤ 60 s): a synthetic noisy scan of that size, FDK start and 20 iterations.

    PYTHONPATH=. python tests/bench/bench_iterative.py [--grid] [--timeline] [--full256] [--large 512 720]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import machine

from engine.backend import gpu_status
from engine.fdk import fdk
from engine.geometry import ScanGeometry, VolumeGeometry
from engine.io import load_scan, load_volume
from engine.iterative import IterativeParams, edge_guide, iterative, prepare_preview
from engine.iterative.penalty import penalty_gradient, prepare_guide
from engine.iterative.solver import solve
from engine.metrics import psnr
from engine.preprocess import PreprocessParams, preprocess
from engine.scan import Scan
from engine.simulate.analytic import Ellipsoid, project
from engine.simulate.package import ensure_demo_scan

ROI_START, ROI_SHAPE = (19, 16, 16), (16, 128, 128)  # the ball layer, with voids and the bridge


def _prepared(step: int = 1):
    folder = ensure_demo_scan()
    scan = load_scan(folder).subset(slice(None, None, step))
    return preprocess(scan, PreprocessParams(center_of_rotation="none")), load_volume(folder / "truth.tif")


def preview_speed() -> None:
    print(f"\nPreview on the {'GPU' if gpu_status()[0] else 'CPU'} (device auto)")
    print("\n| projections | set-up (s) | 20 iterations (s) | per iteration (s) | 20 iterations, guided (s) |"
          "\n|---|---|---|---|---|")
    for step in (1, 2, 4):
        scan, truth = _prepared(step)
        background = fdk(scan, truth.geometry)
        started = time.perf_counter()
        preview = prepare_preview(scan, truth.geometry, ROI_START, ROI_SHAPE, background=background)
        setup = time.perf_counter() - started
        started = time.perf_counter()
        solve(preview.problem, preview.initial, smoothing=20.0, edge_preservation=0.035, iterations=20)
        run = time.perf_counter() - started
        started = time.perf_counter()
        solve(preview.problem, preview.initial, smoothing=20.0, edge_preservation=0.035, iterations=20,
              guide=preview.edge_guide(0.035))
        guided = time.perf_counter() - started
        print(f"| {scan.n_projections} | {setup:.1f} | {run:.1f} | {run / 20:.2f} | {guided:.1f} |", flush=True)


def penalty_speed() -> None:
    """The penalty's gradient and curvature on the demo's whole volume, unguided and guided."""
    scan, truth = _prepared(4)
    start = fdk(scan, truth.geometry).data
    device = "gpu" if gpu_status()[0] else "cpu"
    if device == "gpu":
        import cupy as cp

        x = cp.asarray(start)
        sync = cp.cuda.Device().synchronize
    else:
        x, sync = start, (lambda: None)
    delta = 0.02
    field = prepare_guide(edge_guide(start, delta).field, x)
    print(f"\nPenalty gradient + curvature, {start.shape} voxels, {device}: best of 5\n")
    print("| penalty | seconds |\n|---|---|")
    for name, guide in (("unguided", None), ("guided", field)):
        penalty_gradient(x, delta, guide=guide)  # compile / warm up
        times = []
        for _ in range(5):
            started = time.perf_counter()
            penalty_gradient(x, delta, guide=guide)
            sync()
            times.append(time.perf_counter() - started)
        print(f"| {name} | {min(times):.4f} |", flush=True)


def knob_grid() -> None:
    scan, truth = _prepared(1)
    background = fdk(scan, truth.geometry)
    preview = prepare_preview(scan, truth.geometry, ROI_START, ROI_SHAPE, background=background)
    block = tuple(slice(s, s + n) for s, n in zip(ROI_START, ROI_SHAPE, strict=True))
    reference = truth.data[block]
    suggestion = preview.suggest_edge_preservation()
    strip = preview.smoothing_strip(suggestion.delta)
    auto_beta = strip.smoothings[strip.suggested]
    auto_psnr = psnr(strip.images[strip.suggested], reference)
    deltas = [suggestion.delta * f for f in (0.25, 0.5, 1.0, 2.0, 4.0)]
    betas = [5.0, 20.0, 80.0, 320.0]
    grid = np.zeros((len(deltas), len(betas)))
    for i, delta in enumerate(deltas):
        for j, beta in enumerate(betas):
            image, _ = solve(preview.problem, preview.initial, smoothing=beta, edge_preservation=delta,
                             iterations=20)
            grid[i, j] = psnr(image, reference)
            print(f"δ {delta:.4g} β {beta:g}: PSNR {grid[i, j]:.2f} dB", flush=True)
    print(f"\nPSNR (dB) in the ROI against the truth; FDK: {psnr(preview.initial, reference):.2f} dB\n")
    print("| δ (1/mm) \\ β | " + " | ".join(f"{b:g}" for b in betas) + " |")
    print("|---|" + "---|" * len(betas))
    for i, delta in enumerate(deltas):
        mark = " (auto)" if i == 2 else ""
        print(f"| {delta:.4g}{mark} | " + " | ".join(f"{v:.2f}" for v in grid[i]) + " |")
    best = grid.max()
    print(f"\nauto: δ = {suggestion.delta:.4g}, suggested β = {auto_beta:g} → {auto_psnr:.2f} dB = "
          f"{100 * auto_psnr / best:.1f} % of the grid's best {best:.2f} dB")
    print(f"strip: β {strip.smoothings}, residuals {[round(m['discrepancy'], 3) for m in strip.metrics]}")


def strip_timeline() -> None:
    """What a tuner user waits for: from the ROI drawn (FDK done) to the set-up, the proposed δ,
    each preview's first iterate and its end, at the demo's 720 projections and its quarter."""
    print("\nTuner strip, 5 previews of 20 iterations, both knobs automatic: seconds after the ROI is drawn")
    print("\n| projections | set-up | δ proposed | first image | preview 1 done | preview 5 done |"
          "\n|---|---|---|---|---|---|")
    for step in (1, 4):
        scan, truth = _prepared(step)
        background = fdk(scan, truth.geometry)
        events: dict[str, float] = {}
        started = time.perf_counter()

        def seen(preview, events=events, started=started):
            now = time.perf_counter() - started
            events.setdefault("first", now)
            if preview.done:
                events[f"done{preview.index}"] = now

        preview = prepare_preview(scan, truth.geometry, ROI_START, ROI_SHAPE, background=background)
        events["setup"] = time.perf_counter() - started
        suggestion = preview.suggest_edge_preservation()
        events["delta"] = time.perf_counter() - started
        preview.smoothing_strip(suggestion.delta, on_preview=seen)
        print(f"| {scan.n_projections} | {events['setup']:.1f} | {events['delta']:.1f} | {events['first']:.1f} | "
              f"{events['done0']:.1f} | {events['done4']:.1f} |", flush=True)


def full_256() -> None:
    folder = ensure_demo_scan()
    scan = preprocess(load_scan(folder).subset(slice(None, None, 2)),
                      PreprocessParams(center_of_rotation="none"))
    voxel = 159 * 0.02 / 256
    grid = VolumeGeometry((256, 256, 256), (voxel,) * 3)
    started = time.perf_counter()
    start = fdk(scan, grid)
    volume = iterative(scan, grid, IterativeParams(edge_preservation=0.035, smoothing=20.0), initial=start)
    seconds = time.perf_counter() - started
    print(f"\n256³ from {scan.n_projections} projections, 20 iterations: {seconds:.0f} s "
          f"({volume.recipe['history'][-1]['seconds']:.0f} s iterating)")


def large(size: int, n_proj: int, device: str) -> None:
    """``size``³ from ``n_proj`` cone projections of size² pixels (issue 4's GPU target: 512³ from
    720 in ≤ 60 s): noisy exact line integrals of a sphere holding a denser ball and a void, FDK
    start and 20 iterations, timed end to end (the data's simulation excluded)."""
    geometry = ScanGeometry("cone", np.linspace(0, 2 * np.pi, n_proj, endpoint=False), (size, size),
                            (0.1, 0.1), 100.0, 400.0)
    grid = VolumeGeometry((size,) * 3, 0.1 / geometry.magnification)
    half = size * grid.voxel_size_mm[0] / 2  # the volume spans ±half mm on each axis
    shapes = [Ellipsoid((0.0, 0.0, 0.0), (0.8 * half,) * 3, 0.2),
              Ellipsoid((0.2 * half, -0.1 * half, -0.2 * half), (0.2 * half,) * 3, 0.8),
              Ellipsoid((-0.2 * half, 0.2 * half, 0.2 * half), (0.1 * half,) * 3, -0.2)]  # a void
    clean = project(shapes, geometry)
    counts = np.random.default_rng(0).poisson(20000 * np.exp(-clean)).clip(1)
    scan = Scan(-np.log(counts / 20000.0).astype(np.float32), geometry, "line_integrals")
    del clean, counts
    started = time.perf_counter()
    start = fdk(scan, grid, device=device)
    volume = iterative(scan, grid, IterativeParams(edge_preservation=0.05, smoothing=20.0), device=device,
                       initial=start)
    seconds = time.perf_counter() - started
    print(f"\n{size}³ from {n_proj} projections of {size}², {device}, 20 iterations: {seconds:.1f} s "
          f"({volume.recipe['history'][-1]['seconds']:.1f} s iterating)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", action="store_true", help="also run the δ × β grid (slow)")
    parser.add_argument("--full256", action="store_true", help="also run 256³ from 360 projections")
    parser.add_argument("--timeline", action="store_true", help="also time a tuner strip as a user sees it")
    parser.add_argument("--large", type=int, nargs=2, metavar=("SIZE", "PROJECTIONS"),
                        help="size³ from that many projections (default on a GPU: 512 720)")
    args = parser.parse_args()
    print(f"Iterative engine, demo package; {machine()}")
    preview_speed()
    penalty_speed()
    if args.timeline:
        strip_timeline()
    if args.grid:
        knob_grid()
    if args.full256:
        full_256()
    device = "gpu" if gpu_status()[0] else "cpu"
    if args.large or device == "gpu":
        large(*(args.large or (512, 720)), device)


if __name__ == "__main__":
    main()
