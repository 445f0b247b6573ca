"""Opening scans (every way in), clear errors for bad files, settings that persist, the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from .conftest import open_scan, wait_task

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]


def test_welcome_page_without_a_scan(window):
    assert window.stack.currentWidget() is window.welcome
    button = window.welcome.demo_button
    assert button.isVisible() and button.text() == "Open the demo scan"
    assert not any(b.isEnabled() for b in window.workflow.buttons)


@pytest.mark.parametrize("content, name", [
    (b"\x89HDF\r\n\x1a\n" + b"\x00garbage" * 64, "broken.h5"),
    (b'{"format": "fathom-scan/1", "geometry": {"type": "cone"', "scan.json"),
    (b"II*\x00 not really a tiff", "projections.tif"),
])
def test_a_corrupt_file_gives_one_clear_message_not_a_traceback(qtbot, window, tmp_path, content, name):
    path = tmp_path / "bad" / name
    path.parent.mkdir()
    path.write_bytes(content)
    task = window.open_scan(str(path))
    wait_task(qtbot, task)
    assert task.state == "failed"
    bar = window.messages
    assert bar.isVisible() and bar.level == "error"
    text = bar.text.text()
    assert "Traceback" not in text and len(text.splitlines()) == 1 and text.endswith(".")
    assert str(path.name) in text or "scan" in text.lower()
    assert QApplication.activeModalWidget() is None
    assert window.stack.currentWidget() is window.welcome and not window.session.has_scan


def test_drop_a_scan_folder_on_the_window(qtbot, window, small_scan_folder):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(small_scan_folder / "projections.tif"))])
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.session.has_scan, timeout=20_000)
    assert Path(window.session.path) == small_scan_folder
    assert window.current_step() == 0


def test_geometry_edits_are_checked_and_never_touch_the_file(qtbot, window, small_scan_folder):
    open_scan(qtbot, window, small_scan_folder)
    before = (small_scan_folder / "scan.json").read_text()
    editor = window.scan_page.geometry_editor
    editor.sdd.setValue(10.0)  # closer than the sample: impossible
    assert not editor.apply_button.isEnabled() and "source-detector" in editor.error.text().lower()
    editor.sdd.setValue(120.0)
    editor.apply_button.click()
    assert window.session.scan.geometry.source_detector_mm == 120.0
    assert "6.000" in editor.derived.text()  # magnification 120 / 20
    assert (small_scan_folder / "scan.json").read_text() == before


def test_settings_persist_in_the_temporary_settings_folder(qtbot, small_scan_folder, app_folders):
    from app.main_window import MainWindow

    settings_dir, _ = app_folders
    first = MainWindow(use_3d_viewer=False)
    open_scan(qtbot, first, small_scan_folder)
    first.preprocess_page.form.set_value("ring_filter_width", 21)
    first.reconstruct_page.fdk_form.set_value("filter", "hann")
    first.close()
    assert (settings_dir / "fathom.ini").is_file()
    second = MainWindow(use_3d_viewer=False)
    try:
        assert second.settings.recent_files()[0] == str(small_scan_folder)
        assert second.welcome.recent.count() == 1
        assert second.session.preprocess_params.ring_filter_width == 21
        assert second.reconstruct_page.fdk_form.params().filter == "hann"
    finally:
        second.close()


def test_open_the_demo_with_one_click(qtbot, window):
    """The built-in demo scan (simulated on first use, then cached) opens from the welcome page."""
    qtbot.mouseClick(window.welcome.demo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.load_task is not None and not window.load_task.is_active, timeout=300_000)
    assert window.load_task.state == "succeeded", window.load_task.error
    from engine.simulate.package import demo_geometry

    assert window.session.scan.projections.shape[1:] == demo_geometry().detector_shape
    assert window.settings.recent_files()[0] == "demo"
    assert window.current_step() == 0


def test_command_line_gui_entry(monkeypatch):
    from engine.cli import build_parser

    args = build_parser().parse_args(["gui", "demo"])
    assert args.command == "gui" and args.scan == "demo"
    calls = []
    monkeypatch.setattr("app.main.main", lambda argv=None: calls.append(argv) or 0)
    assert args.handler(args) == 0 and calls == [["demo"]]


def test_the_application_exits_cleanly_with_code_0(tmp_path, small_scan_folder):
    """Start the real app (3D viewer included), load a scan, run FDK, inspect, quit: exit code 0."""
    script = textwrap.dedent(f"""
        import sys
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
        app = QApplication(["fathom"])
        from app.main import main

        def step():
            window = [w for w in app.topLevelWidgets() if w.objectName() == "" and hasattr(w, "session")][0]
            if window.session.scan is None:
                QTimer.singleShot(200, step)
                return
            task = window.reconstruct_page.run("fdk")
            def done():
                window.go_to_step(3)
                QTimer.singleShot(1500, window.close)
            task.finished.connect(done)

        QTimer.singleShot(500, step)
        sys.exit(main([{str(small_scan_folder)!r}]))
    """)
    env = dict(os.environ, FATHOM_SETTINGS_DIR=str(tmp_path / "s"), FATHOM_DATA_DIR=str(tmp_path / "d"))
    env.pop("FATHOM_VIEWER", None)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    log = (tmp_path / "d" / "fathom.log").read_text()
    assert "FDK reconstruction succeeded" in log and "Fathom closed" in log
    settings = (tmp_path / "s" / "fathom.ini").read_text()
    assert json.dumps(str(small_scan_folder))[1:-1] in settings or str(small_scan_folder) in settings


def _write_other_formats(folder: Path, scan) -> dict[str, Path]:
    """The small scan in every other format the engine reads (parallel-beam stand-ins for two)."""
    import h5py
    import numpy as np
    import tifffile

    from engine.io import save_scan_h5

    paths = {"fathom-hdf5": save_scan_h5(scan, folder / "scan.h5")}
    projections = np.asarray(scan.projections[::4])
    theta = np.degrees(scan.geometry.angles_rad[::4])
    exchange = folder / "exchange.h5"
    with h5py.File(exchange, "w") as f:
        f["/exchange/data"] = projections
        f["/exchange/data_white"] = scan.flats
        f["/exchange/data_dark"] = scan.darks
        f["/exchange/theta"] = theta
    paths["data-exchange"] = exchange
    tiffs = folder / "tiffs"
    tiffs.mkdir()
    for k, image in enumerate(projections):
        tifffile.imwrite(tiffs / f"proj_{k:04d}.tif", image)
    tifffile.imwrite(tiffs / "flat_0000.tif", scan.flats[0])
    tifffile.imwrite(tiffs / "dark_0000.tif", scan.darks[0])
    (tiffs / "angles.txt").write_text("\n".join(f"{a:.4f}" for a in theta))
    paths["tiff-folder"] = tiffs
    return paths


def test_every_scan_format_opens(qtbot, window, small_scan, small_scan_folder, tmp_path):
    paths = {"scan-folder": small_scan_folder, "scan.json": small_scan_folder / "scan.json",
             **_write_other_formats(tmp_path, small_scan)}
    for kind, path in paths.items():
        task = window.open_scan(str(path))
        wait_task(qtbot, task)
        assert task.state == "succeeded", f"{kind}: {task.error}"
        assert window.session.scan.detector_shape == small_scan.detector_shape, kind
        qtbot.waitUntil(lambda: window.scan_page.sinogram.image is not None, timeout=10_000)
    assert len(window.settings.recent_files()) == len(paths)
    assert window.recent_menu.actions()[0].text() == str(paths["tiff-folder"])
