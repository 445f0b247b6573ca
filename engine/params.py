"""One declaration per parameter: its type, unit, range, default and help.

Each engine step describes its parameters as a frozen dataclass whose fields carry
:func:`param` metadata. From that one declaration the CLI builds its options
(:func:`add_arguments` / :func:`from_arguments`), the GUI builds its form, the recipe stores the
values (:func:`to_recipe`) and :func:`validate` checks them with a sentence a user understands.
Adding a parameter is a one-place change.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from .errors import FathomInputError


def param(
    default: Any,
    *,
    help: str,
    unit: str = "",
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    choices: tuple | None = None,
    cli: str | None = None,
    label: str | None = None,
) -> Any:
    """A dataclass field with the metadata that GUI, CLI and recipe read."""
    meta = {
        "help": help,
        "unit": unit,
        "minimum": minimum,
        "maximum": maximum,
        "exclusive_minimum": exclusive_minimum,
        "choices": choices,
        "cli": cli,
        "label": label,
    }
    return dataclasses.field(default=default, metadata=meta)


def fields(cls_or_obj) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls_or_obj) if "help" in f.metadata]


def option_name(f: dataclasses.Field) -> str:
    return f.metadata.get("cli") or "--" + f.name.replace("_", "-")


def validate(obj) -> None:
    """Raise :class:`FathomInputError` for the first value outside its declared range."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        meta = f.metadata
        name = option_name(f).lstrip("-")
        unit = f" {meta['unit']}" if meta["unit"] else ""
        if meta["choices"] is not None and value not in meta["choices"]:
            raise FathomInputError(
                f"{name} {value!r} is not one of {', '.join(map(str, meta['choices']))}"
            )
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            low, high = meta["minimum"], meta["maximum"]
            if low is not None and (value < low or (meta["exclusive_minimum"] and value == low)):
                bound = "greater than" if meta["exclusive_minimum"] else "at least"
                raise FathomInputError(f"{name} is {value}{unit}; it must be {bound} {low}{unit}")
            if high is not None and value > high:
                raise FathomInputError(f"{name} is {value}{unit}; it must be at most {high}{unit}")


def add_arguments(parser: argparse.ArgumentParser, cls, title: str | None = None) -> None:
    """Add one CLI option per declared field of ``cls``; defaults stay ``None`` (= not given)."""
    group = parser.add_argument_group(title or cls.__name__)
    for f in fields(cls):
        meta = f.metadata
        unit = f" [{meta['unit']}]" if meta["unit"] else ""
        kwargs: dict[str, Any] = {"dest": f"{cls.__name__}.{f.name}", "default": None,
                                  "help": f"{meta['help']}{unit} (default: {f.default})"}
        if f.type in ("bool", bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = {"int": int, "float": float}.get(str(f.type), str)
            if meta["choices"] is not None:
                kwargs["choices"] = meta["choices"]
        group.add_argument(option_name(f), **kwargs)


def from_arguments(cls, namespace: argparse.Namespace, base=None):
    """Build ``cls`` from parsed CLI options, starting from ``base`` (e.g. a recipe) or defaults."""
    obj = base if base is not None else cls()
    changes = {}
    for f in fields(cls):
        value = getattr(namespace, f"{cls.__name__}.{f.name}", None)
        if value is not None:
            changes[f.name] = value
    obj = dataclasses.replace(obj, **changes)
    validate(obj)
    return obj


def to_recipe(obj) -> dict:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def from_recipe(cls, values: dict):
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise FathomInputError(
            f"recipe has unknown {cls.__name__} keys {sorted(unknown)}: known are {sorted(known)}"
        )
    obj = cls(**values)
    validate(obj)
    return obj
