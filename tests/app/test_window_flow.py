"""The real window driven through the whole flow on a small simulated scan.

Open → browse → preprocess previews (sinogram, centre comparison) → FDK → measurements → tuner
(ROI, δ, β strip, choose) → iterative reconstruction with its convergence plot → inspect → recipe.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine import params as P
from engine.fdk import FDKParams
from engine.preprocess import PreprocessParams

from .conftest import open_scan, wait_task

pytestmark = pytest.mark.gui


def _click(qtbot, widget):
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def test_whole_flow_from_scan_to_recipe(qtbot, window, small_scan_folder, tmp_path):
    win = window
    # -- open: the Scan step shows projections and a sinogram, with units ----------------------
    open_scan(qtbot, win, small_scan_folder)
    assert win.current_step() == 0 and win.workflow.buttons[0].isChecked()
    scan_page = win.scan_page
    assert scan_page.projection.image is not None
    qtbot.waitUntil(lambda: scan_page.sinogram.image is not None, timeout=10_000)  # read in a worker
    assert "mm" in scan_page.projection.plot.getAxis("bottom").labelText
    scan_page.angle_slider.setValue(30)
    assert "angle 90.00°" in scan_page.angle_label.text()
    assert "MiB" in scan_page.memory.text() or "KiB" in scan_page.memory.text()

    # -- preprocess: debounced previews in workers; pick a centre from the comparison ---------
    _click(qtbot, win.workflow.buttons[1])
    page = win.preprocess_page
    qtbot.waitUntil(lambda: page.corrected_view.image is not None, timeout=20_000)
    page.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: page.comparison is not None, timeout=30_000)
    assert len(page.comparison.images) == 3
    offsets = page.comparison.offsets_px
    assert offsets[0] < offsets[1] < offsets[2]
    _click(qtbot, page.thumbnails[1])
    assert page.form.params().center_of_rotation == pytest.approx(round(offsets[1], 3))

    # -- FDK: runs in a worker, fills the view, marks the workflow ---------------------------
    win.go_to_step(2)
    recon = win.reconstruct_page
    out = tmp_path / "fdk.tif"
    recon.output.setText(str(out))
    _click(qtbot, recon.run_button)
    task = recon.run_task
    wait_task(qtbot, task)
    assert task.state == "succeeded", task.error
    volume = win.session.volume("fdk")
    assert volume is not None and recon.view.data is volume.data
    assert out.is_file() and (tmp_path / "fdk.tif.recipe.json").is_file()
    recipe = json.loads((tmp_path / "fdk.tif.recipe.json").read_text())
    assert {"preprocess", "fdk", "method"} <= set(recipe)
    assert win.workflow.done[2] and "✓" in win.workflow.buttons[1].text()

    # -- measurements on the slice through the balls, in mm and 1/mm -------------------------
    nz = volume.data.shape[0]
    ball_slice = int(np.argmax(volume.data.reshape(nz, -1).max(axis=1)))
    recon.view.set_slice(ball_slice)
    image = recon.view.current_image()
    g = volume.geometry
    y, x = np.unravel_index(np.argmax(image), image.shape)
    ox, oy = g.origin_mm[2], g.origin_mm[1]
    vx = g.voxel_size_mm[2]
    centre = (ox + x * vx, oy + y * vx)
    recon.view.set_line((centre[0] - 0.06, centre[1]), (centre[0] + 0.3, centre[1]))
    qtbot.waitUntil(lambda: recon.measure.fit is not None, timeout=5000)
    assert "Edge width (10–90 %)" in recon.measure.profile_result.text()
    assert "mm" in recon.measure.profile_result.text()
    assert 0 < recon.measure.fit.width < 0.5
    recon.view.set_rect("A", (centre[0] - 0.09, centre[1] - 0.09, 0.18, 0.18))
    recon.view.set_rect("B", (g.origin_mm[2] + 2 * vx, g.origin_mm[1] + 2 * vx, 0.3, 0.3))
    qtbot.waitUntil(lambda: "SNR" in recon.measure.snr_result.text(), timeout=5000)
    assert "1/mm" in recon.measure.snr_result.text()
    recon.measure.low.setValue(0.0)
    recon.measure.high.setValue(1.5)
    assert recon.view.panel.levels() == pytest.approx((0.0, 1.5))

    # -- the tuner: ROI → δ proposed → strip of β → choose → reconstruct ---------------------
    if recon.it_form is None:
        pytest.skip("the iterative engine is not in this version")
    recon.it_form.set_value("iterations", 3)
    recon.tuner.count.setValue(3)
    assert recon.tuner.roi_button.isEnabled()
    _click(qtbot, recon.tuner.roi_button)
    assert recon.view.draw_target == "preview"
    shown = []  # what the strip showed while it was computed: (preview, done, strip complete)
    show_preview = recon.strip_view.show_preview
    recon.strip_view.show_preview = lambda p, voxel: (
        shown.append((p.index, p.done, recon.strip_view.strip is not None)), show_preview(p, voxel))
    # drawing: a drag on the slice (the view box's drag handler), here the finished rectangle
    recon.set_preview_roi((centre[0] - 0.6, centre[1] - 0.6, 1.2, 1.2))
    recon.view.set_draw_mode(None)
    # a fresh clone compiles the kernels here: allow for a slow machine (this is not a speed test)
    qtbot.waitUntil(lambda: not recon.tuner_lane.busy, timeout=240_000)
    assert recon.strip_view.strip is not None, recon.strip_view.header.text()
    strip = recon.strip_view.strip
    assert len(strip.images) == 3 and len(recon.strip_view.thumbnails) == 3
    # the strip filled in preview by preview, each one shown as it ran and when done, all
    # before the strip was complete
    assert [k for k, done, _ in shown if done] == [0, 1, 2]
    assert {k for k, done, _ in shown if not done} == {0, 1, 2}
    assert not any(complete for _, _, complete in shown)
    assert recon.tuner.delta_value() == pytest.approx(strip.edge_preservation, rel=1e-3)
    assert "δ" in recon.tuner.delta_rule.text()
    assert recon.chosen_smoothing == strip.smoothings[strip.suggested]
    pick = (strip.suggested + 1) % 3
    _click(qtbot, recon.strip_view.thumbnails[pick])
    assert recon.chosen_smoothing == strip.smoothings[pick]
    assert recon.it_form.params().smoothing == strip.smoothings[pick]

    recipe_path = tmp_path / "tuned.recipe.json"
    recon.save_recipe(str(recipe_path))
    saved = json.loads(recipe_path.read_text())
    assert saved["method"] == "iterative" and saved["tuned_on"]["roi"]["shape"][0] == 16
    assert P.from_recipe(PreprocessParams, saved["preprocess"]) == win.session.preprocess_params
    assert P.from_recipe(FDKParams, saved["fdk"]) == FDKParams()
    iterative = pytest.importorskip("engine.iterative")
    tuned = P.from_recipe(iterative.IterativeParams, saved["iterative"])
    assert tuned.smoothing == strip.smoothings[pick] and tuned.edge_preservation > 0

    recon.output.setText("")
    _click(qtbot, recon.tuner.reconstruct_button)
    task = recon.run_task
    assert recon.run_method == "iterative"
    wait_task(qtbot, task, timeout=120_000)
    assert task.state == "succeeded", task.error
    assert len(recon.convergence.records) == 3
    assert win.session.volume("iterative") is not None
    assert "β" in win.session.volumes["iterative"].label
    assert recon.shown_combo.count() == 2 and recon.view.data is win.session.volume("iterative").data
    recon.shown_combo.setCurrentIndex(recon.shown_combo.findData("fdk"))
    recon.shown_combo.activated.emit(recon.shown_combo.currentIndex())
    assert recon.view.data is win.session.volume("fdk").data

    # -- a strip cancelled while it fills in leaves no half strip behind ----------------------
    recon.request_strip(auto_delta=False)
    assert recon.strip_view.strip is None and len(recon.strip_view.thumbnails) == 3
    recon.cancel_tuner()
    qtbot.waitUntil(lambda: not recon.tuner_lane.busy, timeout=60_000)
    assert recon.strip_view.thumbnails == [] and "cancelled" in recon.strip_view.header.text()

    # -- inspect: both volumes offered; the slice view shows the chosen one -------------------
    win.go_to_step(3)
    inspect = win.inspect_page
    labels = [inspect.volume_combo.itemText(k) for k in range(inspect.volume_combo.count())]
    assert any(label.startswith("FDK") for label in labels) and any("Iterative" in t for t in labels)
    assert inspect.current_volume() is win.session.volume("iterative")
    saved_volume = tmp_path / "inspect.h5"
    wait_task(qtbot, inspect.save_volume(str(saved_volume)))
    assert saved_volume.is_file() and (tmp_path / "inspect.h5.recipe.json").is_file()


def test_recipe_from_the_tuner_runs_in_the_command_line(qtbot, tmp_path, small_scan_folder):
    """The saved recipe's layout is what ``fathom recon --recipe`` reads."""
    from app.jobs import recipe_for
    from engine.cli import main as cli_main
    from engine.io import save_json

    iterative = pytest.importorskip("engine.iterative")
    tuned = iterative.IterativeParams(edge_preservation=0.02, smoothing=2.0, iterations=2)
    recipe = recipe_for("iterative", PreprocessParams(ring_removal=False), FDKParams(filter="hann"), tuned)
    save_json(recipe, tmp_path / "r.json")
    code = cli_main(["recon", str(small_scan_folder), "-o", str(tmp_path / "v.tif"), "-q",
                     "--recipe", str(tmp_path / "r.json")])
    assert code == 0
    written = json.loads((tmp_path / "v.tif.recipe.json").read_text())
    assert written["method"] == "iterative" and written["preprocess"]["ring_removal"] is False
    assert written["iterative"]["smoothing"] == 2.0 and written["iterative"]["edge_preservation"] == 0.02
