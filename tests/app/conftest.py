"""GUI tests: real PySide6 widgets (pytest-qt) on an X display that pytest-xvfb provides.

Skipped as a whole when the GUI packages are not installed (an engine-only environment).
VTK needs a real (virtual) X display with OpenGL, so Qt's offscreen platform is not used.
"""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6", reason="the GUI extra is not installed (pip install -e '.[gui]')")
pytest.importorskip("pytestqt", reason="pytest-qt is not installed")
