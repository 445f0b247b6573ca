"""``python -m app.screenshots OUTDIR``: screenshots of each main state of the real window.

Drives the application the way a user would, on the demo scan (or ``--scan PATH``): welcome,
scan loaded (projection and sinogram), preprocessing (sinogram before/after, centre-of-rotation
comparison), FDK result with measurements, the tuner's β strip, the iterative engine's
convergence, and Inspect. Without a display it re-runs itself under ``xvfb-run``. The user's
settings are not touched (a temporary settings folder is used unless FATHOM_SETTINGS_DIR is set).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZE = (1600, 1000)


def _ensure_display(argv: list[str]) -> int | None:
    """Re-run under xvfb-run when there is no display; returns its exit code, or None to go on."""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        print("screenshots: no display and no xvfb-run; install xvfb or run with a display", file=sys.stderr)
        return 2
    command = [xvfb, "-a", "-s", f"-screen 0 {SIZE[0] + 100}x{SIZE[1] + 100}x24", sys.executable, "-m",
               "app.screenshots", *argv]
    return subprocess.call(command)


class Driver:
    """Waits and grabs, keeping the event loop running (the window stays live throughout)."""

    def __init__(self, app, window, outdir: Path) -> None:
        self.app, self.window, self.outdir = app, window, outdir
        self.written: list[Path] = []

    def wait(self, condition=None, timeout: float = 600.0, settle: float = 0.0) -> bool:
        from PySide6.QtCore import QEventLoop

        end = time.perf_counter() + timeout
        ok = condition is None
        while time.perf_counter() < end:
            self.app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            if condition is not None and condition():
                ok = True
                break
            if condition is None and time.perf_counter() >= end - timeout + settle:
                break
            time.sleep(0.01)
        if settle and condition is not None:
            self.wait(settle=settle, timeout=settle)
        return ok

    def task(self, task, timeout: float = 900.0) -> None:
        if task is None:
            raise RuntimeError("the step did not start a task")
        self.wait(lambda: not task.is_active, timeout)
        if task.state != "succeeded":
            raise RuntimeError(f"{task.name} {task.state}: {task.error}")

    def shot(self, name: str) -> Path:
        from PySide6.QtCore import QPoint
        from PySide6.QtGui import QPainter

        self.wait(settle=0.6)
        if (self.window.width(), self.window.height()) != SIZE:
            print(f"screenshots: warning: the window is {self.window.width()} × {self.window.height()}, "
                  f"not {SIZE[0]} × {SIZE[1]}: a widget's minimum size grew it", file=sys.stderr)
        image = self.window.grab().toImage()
        viewer = self.window.inspect_page.viewer
        if viewer.isVisible() and hasattr(viewer, "grab_image"):  # VTK views are OpenGL: paint them in
            painter = QPainter(image)
            painter.drawImage(viewer.mapTo(self.window, QPoint(0, 0)), viewer.grab_image())
            painter.end()
        path = self.outdir / f"{name}.png"
        image.save(str(path))
        self.written.append(path)
        print(f"screenshots: {path}", flush=True)
        return path


def _demo_layout():
    try:
        from engine.simulate.package import BALL_PITCH, BALL_RADIUS, BALL_Z

        return BALL_Z, BALL_PITCH, BALL_RADIUS
    except ImportError:
        return -0.55, 0.5, 0.16


def run(outdir: Path, scan: str, iterations: int, strip_iterations: int, it_voxel: float) -> list[Path]:
    from .main import create_application
    from .main_window import MainWindow

    app = create_application()
    window = MainWindow()
    window.resize(*SIZE)
    window.move(0, 0)
    window.show()
    d = Driver(app, window, outdir)
    try:
        d.wait(settle=1.0, timeout=1.0)
        d.shot("01-welcome")

        # -- scan ------------------------------------------------------------------------------
        d.task(window.open_scan(scan), timeout=900)
        page = window.scan_page
        n = window.session.scan.n_projections
        page.angle_slider.setValue(n // 8)
        d.shot("02-scan-projection-sinogram")

        # -- preprocessing --------------------------------------------------------------------
        window.go_to_step(1)
        pre = window.preprocess_page
        d.wait(lambda: pre.corrected_view.image is not None, timeout=120)
        d.shot("03-preprocess-sinogram-before-after")
        pre.tabs.setCurrentIndex(1)
        d.wait(lambda: pre.comparison is not None, timeout=300)
        d.shot("04-preprocess-centre-comparison")

        # -- FDK with measurements ------------------------------------------------------------
        window.go_to_step(2)
        recon = window.reconstruct_page
        window.messages.hide()
        d.task(recon.run("fdk"), timeout=900)
        volume = window.session.volume("fdk")
        g = volume.geometry
        ball_z, pitch, radius = _demo_layout()
        k = int(round((ball_z - g.origin_mm[0]) / g.voxel_size_mm[0]))
        recon.view.set_slice(k)
        c = pitch / 2
        recon.view.set_line((c - 0.05, c), (c + radius + 0.14, c))
        recon.view.set_rect("A", (-c - 0.06, c - 0.06, 0.12, 0.12))
        recon.view.set_rect("B", (-0.1, -0.1, 0.2, 0.2))
        recon.measure.update_measurements()
        d.wait(lambda: recon.measure.fit is not None, timeout=10, settle=0.5)
        d.shot("05-fdk-result-measurements")

        # -- the tuner ------------------------------------------------------------------------
        if recon.it_form is not None:
            recon.it_form.set_value("iterations", strip_iterations)
            recon.tuner.count.setValue(5)
            recon.view.remove_roi("line")
            recon.view.remove_roi("A")
            recon.view.remove_roi("B")
            recon.start_roi_drawing()
            recon.set_preview_roi((-c - 0.45, -c - 0.45, 0.9, 0.9))
            recon.view.set_draw_mode(None)
            cells = recon.strip_view.thumbnails
            d.wait(lambda: recon.strip_view.strip is not None
                   or (len(cells) > 1 and cells[1].image_item.image is not None), timeout=1200)
            d.shot("06a-tuner-strip-filling-in")
            d.wait(lambda: not recon.tuner_lane.busy and recon.strip_view.strip is not None, timeout=1200)
            d.shot("06-tuner-strip")

            # -- iterative with its convergence ----------------------------------------------------
            recon.it_form.set_value("iterations", iterations)
            if it_voxel:
                recon.voxel.setValue(it_voxel)
            task = recon.reconstruct_with_choice()
            d.wait(lambda: len(recon.convergence.records) >= max(2, iterations // 2), timeout=1800)
            d.shot("07-iterative-running-convergence")
            d.task(task, timeout=1800)
            recon.bottom_tabs.setCurrentWidget(recon.convergence)
            d.shot("08-iterative-result")

        # -- inspect --------------------------------------------------------------------------
        window.go_to_step(3)
        inspect = window.inspect_page
        d.wait(settle=2.0, timeout=2.0)
        d.shot("09-inspect")
        if inspect.compare_combo.count() > 2 and inspect.compare_combo.isEnabled():
            inspect.compare_combo.setCurrentIndex(inspect.compare_combo.findData("fdk"))
            d.wait(settle=2.0, timeout=2.0)
            d.shot("09b-inspect-compare-with-fdk")
        window.log_dock.show()
        window.go_to_step(2)
        d.shot("10-log-panel")
    finally:
        window.close()
        d.wait(settle=0.5, timeout=0.5)
    return d.written


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m app.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("outdir", help="folder for the PNG files (created)")
    parser.add_argument("--scan", default="demo", help="scan to use (default: the demo)")
    parser.add_argument("--iterations", type=int, default=8, help="iterations of the iterative run")
    parser.add_argument("--strip-iterations", type=int, default=6, help="iterations per tuner preview")
    parser.add_argument("--iterative-voxel-mm", type=float, default=0.04,
                        help="voxel size of the iterative run (0: as FDK); coarser is quicker on a CPU")
    args = parser.parse_args(argv)
    code = _ensure_display(argv)
    if code is not None:
        return code
    outdir = Path(args.outdir).expanduser()
    outdir.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("FATHOM_SETTINGS_DIR"):
        os.environ["FATHOM_SETTINGS_DIR"] = tempfile.mkdtemp(prefix="fathom-screenshots-")
    written = run(outdir, args.scan, args.iterations, args.strip_iterations, args.iterative_voxel_mm)
    print(f"screenshots: wrote {len(written)} images to {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
