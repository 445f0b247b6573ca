"""The ``fathom`` command: the engine headless, for batch work and scripts.

``fathom`` alone opens the GUI; ``fathom recon`` reconstructs a scan to a volume file,
``fathom info`` says what a scan holds. Every option of a reconstruction step comes from that
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


def _volume_geometry(args, scan_geometry):
    from .geometry import VolumeGeometry, default_volume

    volume = default_volume(scan_geometry, args.voxel_size)
    if args.shape or args.center_mm:
        volume = VolumeGeometry(
            tuple(args.shape) if args.shape else volume.shape,
            volume.voxel_size_mm,
            tuple(args.center_mm) if args.center_mm else volume.center_mm,
        )
    if args.roi:
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


def cmd_recon(args) -> int:
    from . import params as P
    from .backend import device_note
    from .fdk import FDKParams, fdk
    from .io import load_scan, save_json, save_volume
    from .preprocess import PreprocessParams, preprocess

    out = Path(args.output)
    if out.suffix.lower() not in (".tif", ".tiff", ".h5", ".hdf5"):
        raise FathomInputError(f"output {out} must end in .tif, .tiff, .h5 or .hdf5")
    if not out.parent.exists():
        raise FathomInputError(f"output folder {out.parent} does not exist: create it first")
    if args.method != "fdk":
        raise FathomInputError(
            f"method {args.method!r} is not available in this version: use --method fdk"
        )
    recipe = _load_recipe(args.recipe)
    pre_params = P.from_arguments(
        PreprocessParams, args,
        P.from_recipe(PreprocessParams, recipe["preprocess"]) if "preprocess" in recipe else None,
    )
    fdk_params = P.from_arguments(
        FDKParams, args, P.from_recipe(FDKParams, recipe["fdk"]) if "fdk" in recipe else None
    )

    cancel = CancelToken()
    progress, close_bar = _progress_bar(not args.quiet and sys.stderr.isatty())
    started = time.perf_counter()
    try:
        scan_path = _scan_path(args.scan, sub_progress(progress, 0.0, 0.05), cancel)
        scan = load_scan(scan_path, progress=sub_progress(progress, 0.0, 0.05), cancel=cancel)
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
        volume = fdk(prepared, volume_geometry, fdk_params, device=args.device,
                     progress=sub_progress(progress, 0.3, 0.97), cancel=cancel)
    finally:
        close_bar()

    volume.recipe = {
        "fathom": __version__,
        "scan": str(Path(scan_path).resolve()),
        "method": volume.recipe.get("method", args.method),
        "device": volume.recipe.get("device"),
        "preprocess": P.to_recipe(pre_params),
        "preprocess_result": prepared.metadata.get("preprocess", {}),
        "fdk": P.to_recipe(fdk_params),
        "redundancy": volume.recipe.get("redundancy"),
        "geometry": prepared.geometry.to_dict(),
        "volume": volume.geometry.to_dict(),
        "seconds": round(time.perf_counter() - started, 2),
    }
    save_volume(volume, out)
    recipe_path = out.with_name(out.name + ".recipe.json")
    save_json(volume.recipe, recipe_path)
    if not args.quiet:
        seconds = volume.recipe["seconds"]
        print(f"fathom: wrote {out} and {recipe_path.name} in {seconds:.1f} s", file=sys.stderr)
    return 0


def cmd_info(args) -> int:
    from .geometry import default_volume
    from .io import load_scan

    scan = load_scan(_scan_path(args.scan))
    print(scan.describe())
    volume = default_volume(scan.geometry)
    nz, ny, nx = volume.shape
    print(
        f"default volume: {nz}×{ny}×{nx} voxels of {volume.voxel_size_mm[2]:.4g} mm "
        f"({volume.n_voxels * 4 / 2**20:.0f} MiB as float32)"
    )
    return 0


def cmd_simulate(args) -> int:
    from .simulate.package import simulate_package, write_simulated

    folder = Path(args.output)
    if folder.exists() and any(folder.iterdir()):
        raise FathomInputError(f"{folder} exists and is not empty: choose a new folder")
    if args.projections < 2 or args.counts <= 0:
        raise FathomInputError("--projections must be at least 2 and --counts positive")
    progress, close_bar = _progress_bar(sys.stderr.isatty())
    try:
        scan, truth = simulate_package(args.projections, args.counts, args.seed, progress=progress)
    finally:
        close_bar()
    write_simulated(folder, scan, truth)
    print(f"fathom: wrote the {args.preset} scan and its truth.json to {folder}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import params as P
    from .fdk import FDKParams
    from .preprocess import PreprocessParams

    parser = argparse.ArgumentParser(
        prog="fathom",
        description="Fathom: X-ray CT reconstruction for failure analysis. Without a command, opens the GUI.",
    )
    parser.add_argument("--version", action="version", version=f"fathom {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    commands = parser.add_subparsers(dest="command")

    recon = commands.add_parser("recon", help="reconstruct a scan into a volume file")
    recon.add_argument("scan", help="scan folder (scan.json), HDF5 file, folder of TIFFs, or 'demo'")
    recon.add_argument("-o", "--output", required=True, help="volume file to write (.tif or .h5)")
    recon.add_argument("--method", default="fdk", choices=("fdk", "iterative", "deep"),
                       help="reconstruction method (default: fdk)")
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
    recon.set_defaults(handler=cmd_recon)

    info = commands.add_parser("info", help="say what a scan holds")
    info.add_argument("scan")
    info.set_defaults(handler=cmd_info)

    simulate = commands.add_parser("simulate", help="write a simulated package scan with its truth")
    simulate.add_argument("--preset", default="bga", choices=("bga",))
    simulate.add_argument("--projections", type=int, default=360)
    simulate.add_argument("--counts", type=float, default=20000, help="photons per pixel in air")
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument("-o", "--output", required=True, help="new scan folder to write")
    simulate.set_defaults(handler=cmd_simulate)
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
