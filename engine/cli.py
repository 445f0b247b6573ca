"""The ``fathom`` command: the engine headless, for batch work and scripts.

``fathom`` alone opens the GUI; ``fathom recon`` reconstructs a scan to a volume file (FDK or
iterative), ``fathom tune`` previews the iterative knobs on an ROI, ``fathom info`` says what a
scan holds, ``fathom simulate`` writes a package scan with its truth, ``fathom metrics`` measures
a volume. Every option of a reconstruction step comes from that
step's parameter declaration (see :mod:`engine.params`), so the CLI, the GUI and the recipe
agree by construction. Bad input ends in one line on stderr that names the problem and the fix,
exit code 2, and no output file; a finished run writes the volume and, beside it, the recipe of
every parameter used (``OUT.recipe.json``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from . import __version__
from .errors import FathomInputError
from .progress import Cancelled, CancelToken, sub_progress

log = logging.getLogger("fathom")

EXIT_INPUT_ERROR = 2
EXIT_CANCELLED = 130


def _progress_bar(enabled: bool):
    """A progress callback drawing a tqdm bar with ETA on stderr, and a close function."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=1000, unit="‰", file=sys.stderr, leave=False, dynamic_ncols=True,
               bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")

    def progress(fraction: float, message: str) -> None:
        bar.set_description_str(message[:48], refresh=False)
        bar.update(int(fraction * 1000) - bar.n)

    return progress, bar.close


def _volume_geometry(args, scan_geometry, with_roi: bool = True):
    from .geometry import VolumeGeometry, default_volume

    volume = default_volume(scan_geometry, args.voxel_size)
    if args.shape or args.center_mm:
        volume = VolumeGeometry(
            tuple(args.shape) if args.shape else volume.shape,
            volume.voxel_size_mm,
            tuple(args.center_mm) if args.center_mm else volume.center_mm,
        )
    if with_roi and getattr(args, "roi", None):
        volume = volume.sub_volume(tuple(args.roi[:3]), tuple(args.roi[3:]))
    return volume


def _scan_path(name: str, progress=None, cancel=None) -> str:
    """The path of a scan argument; "demo" is the built-in package scan (simulated once, cached)."""
    if name != "demo":
        return name
    from .simulate.package import demo_cache_folder, ensure_demo_scan

    if not (demo_cache_folder() / "scan.json").is_file():
        print(f"fathom: simulating the demo package scan once into {demo_cache_folder()}",
              file=sys.stderr)
    return str(ensure_demo_scan(progress, cancel))


def _add_frame(parser) -> None:
    parser.add_argument("--frame", type=int, metavar="N",
                        help="channel (time frame) of a scan file that holds several (CIL NeXus); "
                        "default: the first")


def _check_memory(volume) -> None:
    """Refuse a volume that cannot fit in memory, before spending time on it."""
    need = volume.n_voxels * 4
    try:
        import os

        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return
    if need > 0.8 * available:
        raise FathomInputError(
            f"the volume {volume.shape} needs {need / 2**30:.1f} GiB but only "
            f"{available / 2**30:.1f} GiB of memory is free: reconstruct a region (--roi) "
            "or use a larger --voxel-size"
        )


def _load_recipe(path: str | None) -> dict:
    if not path:
        return {}
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise FathomInputError(f"recipe file {path} not found: check the path") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise FathomInputError(f"recipe file {path} is not valid JSON ({exc}): fix or remove it") from None


def _step_params(args, recipe: dict):
    """(preprocess, FDK, iterative) parameters: the recipe's values, overridden by the options."""
    from . import params as P
    from .fdk import FDKParams
    from .iterative import IterativeParams, resolve_knobs
    from .preprocess import PreprocessParams

    def step(cls, key):
        return P.from_arguments(cls, args, P.from_recipe(cls, recipe[key]) if key in recipe else None)

    return (step(PreprocessParams, "preprocess"), step(FDKParams, "fdk"),
            resolve_knobs(step(IterativeParams, "iterative")))


def cmd_recon(args) -> int:
    from . import params as P
    from .backend import device_note
    from .fdk import fdk
    from .io import load_scan, save_json, save_volume
    from .iterative import iterative, prepare_preview
    from .preprocess import preprocess

    out = Path(args.output)
    if out.suffix.lower() not in (".tif", ".tiff", ".h5", ".hdf5"):
        raise FathomInputError(f"output {out} must end in .tif, .tiff, .h5 or .hdf5")
    if not out.parent.exists():
        raise FathomInputError(f"output folder {out.parent} does not exist: create it first")
    recipe = _load_recipe(args.recipe)
    method = args.method or recipe.get("method", "fdk")
    if method == "fbp":  # a recipe of a parallel-beam FDK run
        method = "fdk"
    if method not in ("fdk", "iterative"):
        raise FathomInputError(
            f"method {method!r} is not available in this version: use --method fdk or iterative"
        )
    pre_params, fdk_params, iterative_params = _step_params(args, recipe)

    cancel = CancelToken()
    progress, close_bar = _progress_bar(not args.quiet and sys.stderr.isatty())
    started = time.perf_counter()
    try:
        scan_path = _scan_path(args.scan, sub_progress(progress, 0.0, 0.05), cancel)
        scan = load_scan(scan_path, frame=args.frame, progress=sub_progress(progress, 0.0, 0.05),
                         cancel=cancel)
        # Check memory before the work, size the volume after: the centre of rotation found
        # by preprocessing moves the field of view.
        _check_memory(_volume_geometry(args, scan.geometry))
        prepared = preprocess(
            scan, pre_params, progress=sub_progress(progress, 0.05, 0.3), cancel=cancel
        )
        volume_geometry = _volume_geometry(args, prepared.geometry)
        if not args.quiet:
            nz, ny, nx = volume_geometry.shape
            print(
                f"fathom: {scan.n_projections} projections {scan.detector_shape[0]}×"
                f"{scan.detector_shape[1]} → volume {nz}×{ny}×{nx} at "
                f"{volume_geometry.voxel_size_mm[2]:.4g} mm "
                f"({volume_geometry.n_voxels * 4 / 2**20:.0f} MiB); "
                f"{device_note(args.device)}",
                file=sys.stderr,
            )
        if method == "fdk":
            volume = fdk(prepared, volume_geometry, fdk_params, device=args.device,
                         progress=sub_progress(progress, 0.3, 0.97), cancel=cancel)
        elif args.roi:
            # An ROI alone cannot explain rays that also cross the rest of the sample: the rest
            # comes from FDK of the whole volume (the preview mechanism).
            whole = _volume_geometry(args, prepared.geometry, with_roi=False)
            start = fdk(prepared, whole, fdk_params, device=args.device,
                        progress=sub_progress(progress, 0.3, 0.5), cancel=cancel)
            preview = prepare_preview(prepared, whole, tuple(args.roi[:3]), tuple(args.roi[3:]),
                                      background=start, device=args.device,
                                      progress=sub_progress(progress, 0.5, 0.6), cancel=cancel)
            volume = preview.reconstruct(iterative_params, progress=sub_progress(progress, 0.6, 0.99),
                                         cancel=cancel)
        else:
            start = fdk(prepared, volume_geometry, fdk_params, device=args.device,
                        progress=sub_progress(progress, 0.3, 0.4), cancel=cancel)
            volume = iterative(prepared, volume_geometry, iterative_params, device=args.device,
                               initial=start, progress=sub_progress(progress, 0.4, 0.99), cancel=cancel)
    finally:
        close_bar()

    engine_recipe = volume.recipe
    volume.recipe = {
        "fathom": __version__,
        "scan": str(Path(scan_path).resolve()),
        **({"frame": args.frame} if args.frame is not None else {}),
        "method": method,
        "device": engine_recipe.get("device"),
        "preprocess": P.to_recipe(pre_params),
        "preprocess_result": prepared.metadata.get("preprocess", {}),
        "fdk": P.to_recipe(fdk_params),
        "redundancy": engine_recipe.get("redundancy"),
        "geometry": prepared.geometry.to_dict(),
        "volume": volume.geometry.to_dict(),
        "seconds": round(time.perf_counter() - started, 2),
    }
    if method == "iterative":
        # the knobs as used (numbers), so that the recipe replays this exact run
        volume.recipe.update(iterative=engine_recipe["iterative"], auto=engine_recipe["auto"],
                             guide=engine_recipe["guide"], history=engine_recipe["history"])
    save_volume(volume, out)
    recipe_path = out.with_name(out.name + ".recipe.json")
    save_json(volume.recipe, recipe_path)
    if not args.quiet:
        seconds = volume.recipe["seconds"]
        print(f"fathom: wrote {out} and {recipe_path.name} in {seconds:.1f} s", file=sys.stderr)
    return 0


def cmd_tune(args) -> int:
    from . import params as P
    from .fdk import fdk
    from .io import load_scan
    from .io.strip import save_strip
    from .iterative import prepare_preview
    from .iterative.preview import central_roi
    from .preprocess import preprocess

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise FathomInputError(f"{out} is a file: give a folder for the strip")
    if args.betas is not None and (not args.betas or any(b < 0 for b in args.betas)):
        raise FathomInputError("--betas must be one or more smoothing values ≥ 0")
    if not 1 <= args.count <= 15:
        raise FathomInputError(f"--count is {args.count}; give 1 to 15 previews")
    recipe = _load_recipe(args.recipe)
    pre_params, fdk_params, knobs = _step_params(args, recipe)
    cancel = CancelToken()
    progress, close_bar = _progress_bar(not args.quiet and sys.stderr.isatty())
    try:
        scan_path = _scan_path(args.scan, sub_progress(progress, 0.0, 0.05), cancel)
        scan = load_scan(scan_path, frame=args.frame, progress=sub_progress(progress, 0.0, 0.05),
                         cancel=cancel)
        prepared = preprocess(scan, pre_params, progress=sub_progress(progress, 0.05, 0.2), cancel=cancel)
        whole = _volume_geometry(args, prepared.geometry, with_roi=False)
        start, shape = (tuple(args.roi[:3]), tuple(args.roi[3:])) if args.roi else central_roi(whole)
        whole.sub_volume(start, shape)  # a clear error before the long part if the ROI is outside
        background = fdk(prepared, whole, fdk_params, device=args.device,
                         progress=sub_progress(progress, 0.2, 0.45), cancel=cancel)
        preview = prepare_preview(prepared, whole, start, shape, background=background,
                                  device=args.device, progress=sub_progress(progress, 0.45, 0.5),
                                  cancel=cancel)
        suggestion = None
        delta = knobs.edge_preservation
        if delta == "auto":
            suggestion = preview.suggest_edge_preservation(cancel=cancel)
            delta = suggestion.delta
        strip = preview.smoothing_strip(delta, args.betas, args.count, iterations=knobs.iterations,
                                        potential=knobs.potential, guide=knobs.guide,
                                        progress=sub_progress(progress, 0.5, 1.0), cancel=cancel)
    finally:
        close_bar()
    chosen = P.to_recipe(knobs) | {"edge_preservation": delta,
                                    "smoothing": strip.smoothings[strip.suggested]}
    run_recipe = {
        "fathom": __version__,
        "method": "iterative",
        "preprocess": P.to_recipe(pre_params),
        "fdk": P.to_recipe(fdk_params),
        "iterative": chosen,
        "tuned_on": {"scan": str(Path(scan_path).resolve()), "frame": args.frame,
                     "roi": {"start": list(start), "shape": list(shape)},
                     "edge_preservation": suggestion.to_dict() if suggestion else "given",
                     "smoothing_rule": strip.rule},
    }
    save_strip(out, strip, preview.roi_geometry, run_recipe)
    if not args.quiet:
        if suggestion:
            print(f"fathom: {suggestion.rule} → δ = {delta:.4g} 1/mm", file=sys.stderr)
        print(f"{'β':>8} {'SNR':>7} {'edge/vox':>9} {'noise σ':>9} {'residual':>9}")
        for k, m in enumerate(strip.metrics):
            mark = "  ← suggested" if k == strip.suggested else ""
            print(f"{strip.smoothings[k]:>8.3g} {m['snr']:>7.2f} {m['edge_width']:>9.2f} "
                  f"{m['noise_sigma']:>9.4f} {m['discrepancy']:>9.3f}{mark}")
        print(f"fathom: wrote strip.png, beta_*.tif, strip.json and recipe.json to {out}; run it with "
              f"'fathom recon SCAN -o OUT --recipe {out / 'recipe.json'}'", file=sys.stderr)
    return 0


def cmd_info(args) -> int:
    from .geometry import default_volume
    from .io import load_scan

    scan = load_scan(_scan_path(args.scan), frame=args.frame)
    print(scan.describe())
    volume = default_volume(scan.geometry)
    nz, ny, nx = volume.shape
    print(
        f"default volume: {nz}×{ny}×{nx} voxels of {volume.voxel_size_mm[2]:.4g} mm "
        f"({volume.n_voxels * 4 / 2**20:.0f} MiB as float32)"
    )
    return 0


def cmd_simulate(args) -> int:
    from .simulate.package import simulate_preset, write_simulated

    folder = Path(args.output)
    if folder.exists() and any(folder.iterdir()):
        raise FathomInputError(f"{folder} exists and is not empty: choose a new folder")
    if (args.projections is not None and args.projections < 2) or (args.counts is not None
                                                                    and not args.counts > 0):
        raise FathomInputError("--projections must be at least 2 and --counts positive")
    progress, close_bar = _progress_bar(sys.stderr.isatty())
    try:
        simulated = simulate_preset(args.preset, args.projections, args.counts, args.seed, progress=progress)
    finally:
        close_bar()
    write_simulated(folder, simulated.scan, simulated.truth, simulated.truth_volume)
    print(f"fathom: wrote the {args.preset} scan, its truth.json and truth.tif to {folder}",
          file=sys.stderr)
    return 0


def cmd_metrics(args) -> int:
    import numpy as np

    from . import metrics as M
    from .io import load_volume, save_json

    if bool(args.roi_a) != bool(args.roi_b):
        raise FathomInputError("--roi-a and --roi-b go together: give both regions (Z0 Y0 X0 NZ NY NX)")
    if not (args.roi_a or args.edge or args.truth or args.package):
        raise FathomInputError("nothing to measure: give --roi-a and --roi-b, --edge, --truth or --package")
    if args.edge_band < 0:
        raise FathomInputError("--edge-band must be 0 or more voxels")
    volume = load_volume(args.volume)
    data, grid = np.asarray(volume.data), volume.geometry
    results: dict = {"volume": str(Path(args.volume).resolve())}
    rows: list[tuple[str, float, str]] = []
    if args.roi_a:
        a, b = M.box_values(data, args.roi_a), M.box_values(data, args.roi_b)
        results.update(snr=M.snr(a, b), cnr=M.cnr(a, b), mean_a=float(a.mean()), mean_b=float(b.mean()),
                       std_a=float(a.std(ddof=1)), std_b=float(b.std(ddof=1)))
        rows += [("SNR, a vs b", results["snr"], "|mean a − mean b| / ((std a + std b) / 2)"),
                 ("CNR, a on b", results["cnr"], "|mean a − mean b| / std b"),
                 ("mean ± std a", results["mean_a"], f"± {results['std_a']:.4g} 1/mm"),
                 ("mean ± std b", results["mean_b"], f"± {results['std_b']:.4g} 1/mm")]
    if args.edge:
        start, end = np.array(args.edge[:3]), np.array(args.edge[3:])
        distances, values = M.line_profile(data, start, end, band=args.edge_band)
        fit = M.fit_edge(values, distances)
        mm_per_voxel = np.linalg.norm((end - start) * grid.voxel_size_mm) / np.linalg.norm(end - start)
        results["edge"] = {"width_voxels": fit.width, "width_mm": fit.width * mm_per_voxel,
                           "center_voxels_from_start": fit.center, "low": fit.low, "high": fit.high,
                           "rms": fit.rms}
        rows.append(("edge width (10–90 %)", fit.width,
                     f"voxels = {fit.width * mm_per_voxel:.4g} mm; levels {fit.low:.4g} → {fit.high:.4g}"))
    if args.truth:
        truth_path = Path(args.truth)
        if truth_path.is_dir():
            truth_path = truth_path / "truth.tif"
        truth = load_volume(truth_path)
        reference = M.truth_on_grid(truth.data, truth.geometry, grid)
        results.update(psnr_db=M.psnr(data, reference), ssim=M.ssim(data, reference))
        rows += [("PSNR vs truth", results["psnr_db"], "dB, peak = the truth's range"),
                 ("SSIM vs truth", results["ssim"], "")]
        described = truth_path.with_name("truth.json")
        if described.is_file():
            results["defects"] = []
            for defect in json.loads(described.read_text()).get("defects", []):
                x, y, z = defect["center_mm"]
                try:
                    mask, surround = M.defect_regions(defect, grid, reference)
                    value = M.defect_cnr(data, mask, surround)
                except FathomInputError:
                    value = float("nan")  # outside this volume (a region of interest)
                results["defects"].append({**defect, "cnr": value})
                rows.append((f"CNR {defect['kind']}", value, f"at x, y, z = {x:.3g}, {y:.3g}, {z:.3g} mm"))
    if args.package:
        from .simulate.package import measure_package

        package = measure_package(data, grid, args.package)
        results["package"] = package
        rows += [(f"SNR {pair}", value, f"{args.package} package regions")
                 for pair, value in package["snr"].items()]
        rows += [(f"edge {name}", width, "voxels (10–90 %)")
                 for name, width in package["edge_width_voxels"].items()]
    print(f"{'metric':<24} {'value':>10}  notes")
    for name, value, note in rows:
        print(f"{name:<24} {value:>10.4g}  {note}")
    if args.json:
        def strict(value):  # JSON has no NaN or infinity: an unmeasurable value is null
            if isinstance(value, dict):
                return {k: strict(v) for k, v in value.items()}
            if isinstance(value, list):
                return [strict(v) for v in value]
            if isinstance(value, float) and not np.isfinite(value):
                return None
            return value

        save_json(strict(results), args.json)
    return 0


def cmd_gui(args) -> int:
    try:
        from app.main import main as gui_main
    except ImportError as exc:
        raise FathomInputError(f"the desktop GUI is not installed ({exc}): pip install -e '.[gui]'") from None
    return gui_main([args.scan] if args.scan else [])


def build_parser() -> argparse.ArgumentParser:
    from . import params as P
    from .fdk import FDKParams
    from .iterative import IterativeParams
    from .preprocess import PreprocessParams
    from .simulate.package import PACKAGES, PRESETS

    parser = argparse.ArgumentParser(
        prog="fathom",
        description="Fathom: X-ray CT reconstruction for failure analysis. Without a command, opens the GUI.",
    )
    parser.add_argument("--version", action="version", version=f"fathom {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    commands = parser.add_subparsers(dest="command")

    recon = commands.add_parser("recon", help="reconstruct a scan into a volume file")
    recon.add_argument("scan", help="scan folder (scan.json), HDF5 or NeXus file, folder of TIFFs, or 'demo'")
    _add_frame(recon)
    recon.add_argument("-o", "--output", required=True, help="volume file to write (.tif or .h5)")
    recon.add_argument("--method", choices=("fdk", "iterative", "deep"),
                       help="reconstruction method (default: the recipe's, else fdk)")
    recon.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"),
                       help="where to compute (default: auto = GPU if one works)")
    recon.add_argument("--shape", type=int, nargs=3, metavar=("NZ", "NY", "NX"),
                       help="volume size in voxels (default: the field of view)")
    recon.add_argument("--voxel-size", type=float, metavar="MM",
                       help="voxel pitch in mm (default: detector pixel / magnification)")
    recon.add_argument("--center-mm", type=float, nargs=3, metavar=("Z", "Y", "X"),
                       help="volume centre in mm (default: 0 0 0)")
    recon.add_argument("--roi", type=int, nargs=6, metavar=("Z0", "Y0", "X0", "NZ", "NY", "NX"),
                       help="reconstruct only this block of voxels of the volume")
    recon.add_argument("--recipe", help="JSON recipe (e.g. a previous OUT.recipe.json) to start from")
    recon.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    P.add_arguments(recon, PreprocessParams, "preprocessing")
    P.add_arguments(recon, FDKParams, "filtered back-projection")
    P.add_arguments(recon, IterativeParams, "iterative (--method iterative)")
    recon.set_defaults(handler=cmd_recon)

    tune = commands.add_parser(
        "tune", help="preview the iterative engine on an ROI at several smoothing values β")
    tune.add_argument("scan", help="scan folder, HDF5 or NeXus file, folder of TIFFs, or 'demo'")
    _add_frame(tune)
    tune.add_argument("-o", "--output", required=True, help="folder for the strip, its metrics and recipe")
    tune.add_argument("--roi", type=int, nargs=6, metavar=("Z0", "Y0", "X0", "NZ", "NY", "NX"),
                      help="preview block in voxels of the volume (default: 16×128×128 at the centre)")
    tune.add_argument("--betas", type=float, nargs="+", metavar="BETA",
                      help="smoothing values to preview (default: --count values around the suggestion)")
    tune.add_argument("--count", type=int, default=5, help="previews in a default strip (default: 5)")
    tune.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"))
    tune.add_argument("--shape", type=int, nargs=3, metavar=("NZ", "NY", "NX"))
    tune.add_argument("--voxel-size", type=float, metavar="MM")
    tune.add_argument("--center-mm", type=float, nargs=3, metavar=("Z", "Y", "X"))
    tune.add_argument("--recipe", help="JSON recipe to start from")
    tune.add_argument("-q", "--quiet", action="store_true")
    P.add_arguments(tune, PreprocessParams, "preprocessing")
    P.add_arguments(tune, FDKParams, "filtered back-projection (the start and background)")
    P.add_arguments(tune, IterativeParams, "iterative")
    tune.set_defaults(handler=cmd_tune)

    info = commands.add_parser("info", help="say what a scan holds")
    info.add_argument("scan")
    _add_frame(info)
    info.set_defaults(handler=cmd_info)

    simulate = commands.add_parser("simulate", help="write a simulated package scan with its truth")
    simulate.add_argument("--preset", default="bga", choices=list(PRESETS),
                          help="; ".join(f"{name}: {p.description}" for name, p in PRESETS.items())
                               + " (default: bga, the demo)")
    simulate.add_argument("--projections", type=int,
                          help="projections over the preset's range (default: "
                               + ", ".join(f"{name} {p.n_projections}" for name, p in PRESETS.items()) + ")")
    simulate.add_argument("--counts", type=float,
                          help="photons per pixel in air (default: "
                               + ", ".join(f"{name} {p.counts:.0f}" for name, p in PRESETS.items()) + ")")
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument("-o", "--output", required=True, help="new scan folder to write")
    simulate.set_defaults(handler=cmd_simulate)

    metrics = commands.add_parser("metrics", help="SNR, CNR, edge width, PSNR/SSIM of a volume")
    metrics.add_argument("volume", help="volume file (.tif or .h5)")
    box = ("Z0", "Y0", "X0", "NZ", "NY", "NX")
    metrics.add_argument("--roi-a", type=int, nargs=6, metavar=box,
                         help="first region, in voxels: SNR against --roi-b, and CNR on it")
    metrics.add_argument("--roi-b", type=int, nargs=6, metavar=box,
                         help="second region, in voxels (the background of the CNR)")
    metrics.add_argument("--edge", type=float, nargs=6, metavar=("Z0", "Y0", "X0", "Z1", "Y1", "X1"),
                         help="a line across one edge, voxel (z, y, x) to voxel (z, y, x): its 10–90 %% "
                              "width from a logistic fit")
    metrics.add_argument("--edge-band", type=int, default=0, metavar="N",
                         help="average the parallel lines up to N voxels either side of --edge (default 0)")
    metrics.add_argument("--truth", metavar="TRUTH",
                         help="truth volume (.tif/.h5) or simulated scan folder: PSNR, SSIM, and each "
                              "defect's CNR when truth.json lies beside it")
    metrics.add_argument("--package", nargs="?", const="bga", choices=PACKAGES, metavar="PRESET",
                         help="SNR die/mold and mold/air and edge widths at the standard regions of a "
                              f"simulated package ({', '.join(PACKAGES)}; default bga, the demo)")
    metrics.add_argument("--json", metavar="OUT", help="also write the results to this JSON file")
    metrics.set_defaults(handler=cmd_metrics)

    gui = commands.add_parser("gui", help="open the desktop application, optionally with a scan")
    gui.add_argument("scan", nargs="?", help="scan to open (a path, or 'demo')")
    gui.set_defaults(handler=cmd_gui)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        try:
            from app.main import main as gui_main
        except ImportError:
            print("fathom: the desktop GUI is not part of this version yet; use "
                  "'fathom recon SCAN -o OUT' or 'fathom info SCAN' (see fathom --help)", file=sys.stderr)
            return EXIT_INPUT_ERROR
        return gui_main()
    try:
        return args.handler(args)
    except FathomInputError as exc:
        print(f"fathom: error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except (Cancelled, KeyboardInterrupt):
        print("fathom: cancelled; nothing was written", file=sys.stderr)
        return EXIT_CANCELLED


if __name__ == "__main__":
    sys.exit(main())
