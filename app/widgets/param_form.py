"""A form built from an engine parameter declaration (:mod:`engine.params`).

One widget per declared field, chosen from its type and metadata: a check box for a flag, a
combo box for choices, a spin box for an integer, a checked number field for a float, an
editable combo for "auto"/"none"-or-a-number fields. Label, unit, range and help text all come
from the declaration, so a parameter added to the engine appears here with no GUI change.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine import params as P
from engine.errors import FathomInputError

from .panels import note_label


def field_label(f: dataclasses.Field) -> str:
    label = f.metadata.get("label")
    if label:
        return label
    text = f.name.replace("_", " ")
    return text[:1].upper() + text[1:]


def _number_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _tooltip(f: dataclasses.Field) -> str:
    meta = f.metadata
    parts = [meta["help"][:1].upper() + meta["help"][1:] + "."]
    unit = f" {meta['unit']}" if meta.get("unit") else ""
    if meta.get("minimum") is not None or meta.get("maximum") is not None:
        sign = ">" if meta.get("exclusive_minimum") else "≥"
        low = "" if meta.get("minimum") is None else f"{sign} {meta['minimum']}{unit}"
        high = "" if meta.get("maximum") is None else f"≤ {meta['maximum']}{unit}"
        parts.append("Range: " + ", ".join(p for p in (low, high) if p) + ".")
    parts.append(f"Default: {_number_text(f.default)}{unit}. Command line: {P.option_name(f)}.")
    return "\n".join(parts)


class _Editor:
    """One field's widget and how to read and write it."""

    def __init__(self, f: dataclasses.Field, on_change) -> None:
        self.field = f
        meta = f.metadata
        kind = str(f.type).replace(" ", "")
        self.kind = kind
        if kind == "bool":
            self.widget = QCheckBox()
            self.widget.toggled.connect(on_change)
        elif meta.get("choices") is not None:
            self.widget = QComboBox()
            self.widget.addItems([str(c) for c in meta["choices"]])
            self.widget.currentIndexChanged.connect(on_change)
        elif kind == "int":
            self.widget = QSpinBox()
            low = meta.get("minimum")
            high = meta.get("maximum")
            self.widget.setRange(int(low) if low is not None else -10**9,
                                 int(high) if high is not None else 10**9)
            self.widget.valueChanged.connect(on_change)
        elif "|" in kind and "str" in kind:
            self.widget = QComboBox()
            self.widget.setEditable(True)
            words = ["auto"]
            if "center" in f.name or "centre" in f.name:
                words.append("none")
            self.widget.addItems(words)
            self.widget.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            self.widget.currentTextChanged.connect(on_change)
        else:
            self.widget = QLineEdit()
            if kind == "float":
                self.widget.setValidator(QDoubleValidator())
            self.widget.textChanged.connect(on_change)
        self.widget.setToolTip(_tooltip(f))
        self.widget.setObjectName(f"param_{f.name}")

    def get(self) -> Any:
        w = self.widget
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QSpinBox):
            return w.value()
        if isinstance(w, QComboBox) and not w.isEditable():
            choices = self.field.metadata["choices"]
            return choices[w.currentIndex()] if w.currentIndex() >= 0 else self.field.default
        text = w.currentText() if isinstance(w, QComboBox) else w.text()
        text = text.strip()
        if self.kind == "float":
            try:
                return float(text.replace(",", "."))
            except ValueError:
                raise FathomInputError(f"{field_label(self.field)}: {text!r} is not a number") from None
        if "float" in self.kind and text.lower() not in ("auto", "none"):
            try:
                return float(text)
            except ValueError:
                return text  # the engine's parser names the problem
        if self.kind.startswith("tuple"):
            return text
        return text

    def set(self, value: Any) -> None:
        w = self.widget
        if isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        elif isinstance(w, QSpinBox):
            w.setValue(int(value))
        elif isinstance(w, QComboBox) and not w.isEditable():
            choices = [str(c) for c in self.field.metadata["choices"]]
            if str(value) in choices:
                w.setCurrentIndex(choices.index(str(value)))
        elif isinstance(w, QComboBox):
            w.setCurrentText(_number_text(value))
        elif self.kind.startswith("tuple"):
            w.setText(", ".join(_number_text(v) for v in value))
        else:
            w.setText(_number_text(value))


class ParamForm(QWidget):
    """The editable form of one parameter dataclass.

    ``changed`` fires on every edit (debounce it before starting work); :meth:`params` returns a
    validated instance or raises :class:`FathomInputError` with the user's sentence, which the
    form also shows under its fields.
    """

    changed = Signal()

    def __init__(self, cls, parent: QWidget | None = None, exclude: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self.cls = cls
        self._editors: dict[str, _Editor] = {}
        self._rows: dict[str, tuple[QLabel, QWidget]] = {}
        self._loading = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        outer.addLayout(form)
        for f in P.fields(cls):
            if f.name in exclude:
                continue
            editor = _Editor(f, self._on_edit)
            self._editors[f.name] = editor
            cell = QWidget()
            row = QHBoxLayout(cell)
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(editor.widget, 1)
            unit = f.metadata.get("unit") or ""
            if unit:
                unit_label = QLabel(unit)
                unit_label.setObjectName("unitLabel")
                unit_label.setMinimumWidth(34)
                row.addWidget(unit_label)
            label = QLabel(field_label(f))
            label.setToolTip(editor.widget.toolTip())
            if editor.kind == "bool":
                editor.widget.setText("")
            form.addRow(label, cell)
            self._rows[f.name] = (label, cell)
        self.error_label = note_label(name="formError")
        self.error_label.hide()
        outer.addWidget(self.error_label)
        self.set_params(cls())

    def editor(self, name: str) -> QWidget:
        return self._editors[name].widget

    def set_params(self, obj) -> None:
        self._loading = True
        try:
            for name, editor in self._editors.items():
                editor.set(getattr(obj, name))
        finally:
            self._loading = False
        self._on_edit()

    def set_value(self, name: str, value: Any) -> None:
        self._editors[name].set(value)

    def values(self) -> dict:
        return {name: editor.get() for name, editor in self._editors.items()}

    def params(self, base=None):
        """A validated instance from the form (fields not shown come from ``base`` or defaults)."""
        obj = dataclasses.replace(base if base is not None else self.cls(), **self.values())
        P.validate(obj)
        return obj

    def is_valid(self) -> bool:
        try:
            self.params()
        except FathomInputError:
            return False
        return True

    def _on_edit(self, *_args) -> None:
        try:
            self.params()
        except FathomInputError as exc:
            text = str(exc)
            self.error_label.setText(text[:1].upper() + text[1:])
            self.error_label.show()
        else:
            self.error_label.hide()
        if not self._loading:
            self.changed.emit()
