"""GUI tests: real PySide6 widgets (pytest-qt) on an X display that pytest-xvfb provides.

Skipped as a whole when the GUI packages are not installed (an engine-only environment).
VTK needs a real (virtual) X display with OpenGL, so Qt's offscreen platform is not used.

Every test gets its own settings and data folders (``FATHOM_SETTINGS_DIR``/``FATHOM_DATA_DIR``),
so no test reads or writes a user's settings. Scans are small simulated ones, made once.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6", reason="the GUI extra is not installed (pip install -e '.[gui]')")
pytest.importorskip("pytestqt", reason="pytest-qt is not installed")


def make_small_scan(n_projections: int = 120, detector=(40, 56), pixel_mm: float = 0.3, seed: int = 0):
    """The demo package seen by a small detector: a raw-counts Scan in memory (about 0.5 s)."""
    from engine.geometry import ScanGeometry
    from engine.scan import Scan
    from engine.simulate.analytic import project
    from engine.simulate.package import acquire, bga_package

    shapes, _ = bga_package()
    angles = np.arange(n_projections) * (2 * np.pi / n_projections)
    geometry = ScanGeometry("cone", angles, detector, (pixel_mm, pixel_mm), 20.0, 100.0)
    ideal = project(shapes, geometry)
    projections, flats, darks = acquire(ideal, 20000, np.random.default_rng(seed))
    return Scan(projections, geometry, "counts", flats=flats, darks=darks,
                metadata={"source": "test: small simulated package"})


@pytest.fixture(scope="session")
def small_scan():
    return make_small_scan()


@pytest.fixture(scope="session")
def small_scan_folder(tmp_path_factory, small_scan):
    """A Fathom scan folder of the small scan (written once per test session)."""
    from engine.io import save_scan_folder

    folder = tmp_path_factory.mktemp("scans") / "small"
    save_scan_folder(small_scan, folder)
    return folder


@pytest.fixture(autouse=True)
def app_folders(tmp_path, monkeypatch):
    """Temporary settings and data folders for every test; the basic viewer unless asked."""
    settings = tmp_path / "settings"
    data = tmp_path / "data"
    monkeypatch.setenv("FATHOM_SETTINGS_DIR", str(settings))
    monkeypatch.setenv("FATHOM_DATA_DIR", str(data))
    return settings, data


@pytest.fixture
def window(qtbot):
    """The real main window (basic slice view in Inspect: VTK has its own tests)."""
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.style import apply_style

    apply_style(QApplication.instance())
    win = MainWindow(use_3d_viewer=False)
    qtbot.addWidget(win)
    win.resize(1500, 950)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.tasks.shutdown(timeout_s=20)
    win.close()


def open_scan(qtbot, win, path, timeout=30_000):
    """Open ``path`` in ``win`` and wait until it is loaded."""
    task = win.open_scan(str(path))
    qtbot.waitUntil(lambda: not task.is_active, timeout=timeout)
    assert task.state == "succeeded", task.error
    return task


def wait_task(qtbot, task, timeout=60_000):
    qtbot.waitUntil(lambda: not task.is_active, timeout=timeout)
    return task
