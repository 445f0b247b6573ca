"""The tuner's β strip fills in preview by preview while it is computed."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gui

iterative = pytest.importorskip("engine.iterative")


def _strip(count: int, suggested: int):
    rng = np.random.default_rng(0)
    images = [rng.random((4, 12, 12), dtype=np.float32) for _ in range(count)]
    metrics = [{"smoothing": 10.0 * (k + 1), "snr": 5.0 + k, "noise_sigma": 0.01, "edge_width": 1.2,
                "discrepancy": 1.0 + k} for k in range(count)]
    return iterative.SmoothingStrip(0.02, [10.0 * (k + 1) for k in range(count)], images, metrics, suggested,
                                    "a rule")


def test_cells_appear_and_refine_as_previews_arrive_and_choosing_waits_for_the_strip(qtbot):
    from app.pages.tuner import SmoothingStripView

    view = SmoothingStripView()
    qtbot.addWidget(view)
    chosen = []
    view.chosen.connect(chosen.append)
    view.begin(3, "Computing previews…")
    assert len(view.thumbnails) == 3 and view.strip is None  # placeholders, so the layout stays put
    assert view.thumbnails[2].caption.text().startswith("waiting")
    strip = _strip(3, suggested=1)
    image = strip.images[0][2]
    view.show_preview(iterative.StripPreview(0, 10.0, 2, 6, image), 0.05)
    first = view.thumbnails[0]
    assert first.caption.text().split("\n") == ["iteration 2/6", "", "", ""]  # a finished one's height
    assert first.title.text() == "β = 10"
    assert "1 of 3" in view.header.text() and "iteration 2/6" in view.header.text()
    np.testing.assert_array_equal(first.image_item.image, image)
    view.show_preview(iterative.StripPreview(0, 10.0, 6, 6, image, strip.metrics[0]), 0.05)
    assert "SNR 5.0" in first.caption.text() and "done" in view.header.text()
    view.show_preview(iterative.StripPreview(1, 20.0, 1, 6, strip.images[1][2]), 0.05)
    assert view.thumbnails[1].title.text() == "β = 20" and "2 of 3" in view.header.text()
    # nothing to choose until the strip, with its suggestion, is complete
    first.clicked.emit(0)
    assert view.selected is None and chosen == []

    view.show_strip(strip, 0.05)
    assert len(view.thumbnails) == 3 and view.thumbnails[0] is first  # the cells are kept
    assert "★" in view.thumbnails[1].title.text() and view.selected == 1
    assert "suggested β = 20" in view.header.text()
    # news of a preview after the strip is complete change nothing
    view.show_preview(iterative.StripPreview(2, 30.0, 1, 6, image), 0.05)
    assert "SNR 7.0" in view.thumbnails[2].caption.text()
    view.thumbnails[2].clicked.emit(2)
    assert chosen == [2]

    view.begin(2, "Computing previews…")  # a new request: the old strip goes
    assert len(view.thumbnails) == 2 and view.strip is None and view.selected is None
    assert view.thumbnails[0].caption.text().startswith("waiting")
