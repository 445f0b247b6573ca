"""Forms built from the engine's parameter declarations: one widget per field, checked values."""

from __future__ import annotations

import pytest

from engine import params as P
from engine.fdk import FDKParams
from engine.preprocess import PreprocessParams

pytestmark = pytest.mark.gui


def test_every_declared_field_has_a_widget_with_its_help_and_unit(qtbot):
    from app.widgets.param_form import ParamForm

    form = ParamForm(PreprocessParams)
    qtbot.addWidget(form)
    for f in P.fields(PreprocessParams):
        widget = form.editor(f.name)
        assert f.metadata["help"][:20].lower() in widget.toolTip().lower()
    assert form.params() == PreprocessParams()
    assert "noise std" in [label.text() for label in form.findChildren(type(form.error_label))]


def test_edits_give_validated_parameters_and_bad_values_a_sentence(qtbot):
    from app.widgets.param_form import ParamForm

    form = ParamForm(FDKParams)
    qtbot.addWidget(form)
    form.show()
    changes = []
    form.changed.connect(lambda: changes.append(1))
    form.editor("filter").setCurrentText("hann")
    form.editor("cutoff").setText("0.8")
    assert form.params() == FDKParams(filter="hann", cutoff=0.8)
    assert changes
    form.editor("cutoff").setText("1.5")
    assert not form.is_valid()
    assert form.error_label.isVisible() and "at most 1.0" in form.error_label.text()


def test_auto_or_number_fields_accept_both(qtbot):
    from app.widgets.param_form import ParamForm

    form = ParamForm(PreprocessParams)
    qtbot.addWidget(form)
    centre = form.editor("center_of_rotation")
    assert centre.currentText() == "auto" and centre.findText("none") >= 0
    centre.setCurrentText("-1.5")
    assert form.params().center_of_rotation == -1.5
    centre.setCurrentText("left a bit")
    assert not form.is_valid()


def test_iterative_form_comes_from_its_declaration(qtbot):
    iterative = pytest.importorskip("engine.iterative")
    from app.widgets.param_form import ParamForm

    form = ParamForm(iterative.IterativeParams)
    qtbot.addWidget(form)
    assert form.editor("edge_preservation").currentText() == "auto"
    form.set_value("edge_preservation", 0.02)
    form.set_value("smoothing", 2.0)
    params = form.params()
    assert params.edge_preservation == 0.02 and params.smoothing == 2.0
