"""Closing the viewer and quitting never crashes: VTK and Qt torn down in order, exit code 0.

Each case runs in its own Python process on the test display (pytest-xvfb), because what can go
wrong happens at interpreter exit, after the test function would have returned.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("vtkmodules.qt", reason="VTK is not installed")

from engine.geometry import VolumeGeometry  # noqa: E402
from engine.io import save_volume  # noqa: E402
from engine.volume import Volume  # noqa: E402

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[3]


def run(args: list[str], timeout: float = 90) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONFAULTHANDLER="1")
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def volume_file(tmp_path_factory) -> Path:
    data = np.random.default_rng(0).random((40, 48, 56)).astype(np.float32)
    path = tmp_path_factory.mktemp("viewer") / "small.h5"
    save_volume(Volume(data, VolumeGeometry(data.shape, 0.02)), path)
    return path


def test_standalone_window_closes_cleanly(volume_file):
    result = run(["-m", "app.viewer", str(volume_file), "--compare", str(volume_file), "--quit-after", "1.5"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Fatal" not in result.stderr


def test_quitting_with_the_viewer_still_open_exits_cleanly(volume_file):
    script = textwrap.dedent(
        f"""
        import numpy as np
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication, QMainWindow
        from app.viewer import CrossSectionViewer
        from engine.io import load_volume

        app = QApplication([])
        volume = load_volume({str(volume_file)!r})
        window = QMainWindow()
        viewer = CrossSectionViewer()
        window.setCentralWidget(viewer)
        window.resize(1200, 800)
        window.show()
        g = volume.geometry
        viewer.set_volume(volume.data, g.voxel_size_mm, g.origin_mm, name="a")
        viewer.set_comparison(np.asarray(volume.data) * 2, g.voxel_size_mm, g.origin_mm, name="b")
        viewer.set_layout("Cut plane + 3D")
        QTimer.singleShot(1200, app.quit)  # no close, no shutdown: the viewer must cope alone
        raise SystemExit(app.exec())
        """
    )
    result = run(["-c", script])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Fatal" not in result.stderr


def test_bad_volume_path_is_one_clear_line(tmp_path):
    result = run(["-m", "app.viewer", str(tmp_path / "missing.h5")])
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
