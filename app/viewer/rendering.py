"""Volume-rendering presets for packages: which attenuation is how bright and how opaque in 3D.

A preset's control points sit at fractions of a reference level, the volume's bright end (the
99.9th percentile, solder in a package scan), with air at 0: Fathom's reconstructions are
calibrated in 1/mm, so air is 0 and the ratios between materials (mold ≈ 0.03, copper ≈ 0.37,
solder = 1 of the solder level at 80 keV) carry over from sample to sample. The builders return
VTK transfer functions; nothing here needs a window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from vtkmodules.vtkCommonDataModel import vtkPiecewiseFunction
from vtkmodules.vtkRenderingCore import vtkColorTransferFunction, vtkVolumeProperty

from .measure import subsample_values


@dataclass(frozen=True)
class RenderPreset:
    """Colour (fraction, r, g, b) and opacity (fraction, alpha) points; fractions of the bright level."""

    name: str
    colors: tuple[tuple[float, float, float, float], ...]
    opacity: tuple[tuple[float, float], ...]
    maximum_intensity: bool = False
    shade: bool = True
    help: str = ""


_MOLD = (0.62, 0.50, 0.36)
_COPPER = (0.95, 0.55, 0.25)
_SOLDER = (0.86, 0.88, 0.92)

PRESETS: dict[str, RenderPreset] = {
    p.name: p
    for p in (
        RenderPreset(
            "Package",
            colors=(
                (0.0, *_MOLD),
                (0.1, *_MOLD),
                (0.17, *_COPPER),
                (0.24, *_COPPER),
                (0.34, *_SOLDER),
                (1.0, 1.0, 1.0, 1.0),
            ),
            opacity=(
                (0.0, 0.0),
                (0.012, 0.0),
                (0.022, 0.004),
                (0.14, 0.006),
                (0.22, 0.5),
                (0.45, 0.85),
                (1.0, 0.95),
            ),
            help="solder and copper bright and opaque, mold, die and board faint and translucent",
        ),
        RenderPreset(
            "Metals",
            colors=((0.0, *_COPPER), (0.3, *_COPPER), (0.42, *_SOLDER), (1.0, 1.0, 1.0, 1.0)),
            opacity=((0.0, 0.0), (0.15, 0.0), (0.25, 0.7), (1.0, 0.95)),
            help="copper and solder only: balls, bumps, pads and traces; voids show as holes",
        ),
        RenderPreset(
            "Solder",
            colors=((0.0, *_SOLDER), (1.0, 1.0, 1.0, 1.0)),
            opacity=((0.0, 0.0), (0.5, 0.0), (0.65, 0.9), (1.0, 0.95)),
            help="solder only (balls and bumps), for voids and bridging",
        ),
        RenderPreset(
            "Grey MIP",
            colors=((0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0)),
            opacity=((0.0, 0.0), (1.0, 1.0)),
            maximum_intensity=True,
            shade=False,
            help="brightest value along each ray, like a radiograph of the metals",
        ),
    )
}
DEFAULT_PRESET = "Package"


def bright_level(data: np.ndarray) -> float:
    """The reference level of the presets: the 99.9th percentile of a subsample (1 if empty)."""
    sample = subsample_values(data)
    if sample.size == 0:
        return 1.0
    level = float(np.percentile(sample, 99.9))
    return level if level > 0 else max(float(sample.max()), 1e-6)


def transfer_points(preset: RenderPreset, level: float) -> tuple[list[tuple], list[tuple]]:
    """Colour and opacity points in attenuation units for a bright level ``level``."""
    colors = [(f * level, r, g, b) for f, r, g, b in preset.colors]
    opacity = [(f * level, a) for f, a in preset.opacity]
    return colors, opacity


def volume_property(preset: RenderPreset, level: float) -> vtkVolumeProperty:
    """A ``vtkVolumeProperty`` with the preset's transfer functions."""
    colors, opacity = transfer_points(preset, level)
    color_function = vtkColorTransferFunction()
    for value, r, g, b in colors:
        color_function.AddRGBPoint(value, r, g, b)
    opacity_function = vtkPiecewiseFunction()
    for value, alpha in opacity:
        opacity_function.AddPoint(value, alpha)
    prop = vtkVolumeProperty()
    prop.SetColor(color_function)
    prop.SetScalarOpacity(opacity_function)
    prop.SetInterpolationTypeToLinear()
    if preset.shade:
        prop.ShadeOn()
        prop.SetAmbient(0.5)
        prop.SetDiffuse(0.7)
        prop.SetSpecular(0.3)
        prop.SetSpecularPower(20.0)
    else:
        prop.ShadeOff()
    return prop
