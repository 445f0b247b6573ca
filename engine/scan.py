"""The scan: projections with everything needed to interpret them.

A :class:`Scan` is what every reader returns and every reconstruction consumes: the projection
stack ``proj[angle, row, column]`` (raw detector counts or line integrals; a NumPy array or a
read-only memory map for large scans), optional flat and dark fields, the geometry (angles
included) and free-form metadata (what the reader found: vendor, energy, exposure, …).

Scans are treated as immutable inputs: preprocessing returns a new Scan and never writes into
the arrays it was given, so a raw scan file mapped from disk is never modified.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from .errors import FathomInputError
from .geometry import ScanGeometry

Values = Literal["counts", "line_integrals"]


@dataclass(frozen=True, eq=False)
class Scan:
    """Projections, flats, darks, geometry and metadata of one acquisition.

    Parameters
    ----------
    projections : (n_angles, rows, columns) array, any real dtype.
    geometry : the acquisition geometry; its angles and detector shape match ``projections``.
    values : "counts" (raw, to be flat/dark corrected) or "line_integrals" (−log done).
    flats, darks : (k, rows, columns) stacks or None. ``flat_positions`` optionally gives, for
        each flat, the projection index at which it was taken (flats before and after a scan).
    metadata : anything a reader wants to keep (shown by ``fathom info``).
    """

    projections: np.ndarray
    geometry: ScanGeometry
    values: Values = "counts"
    flats: np.ndarray | None = None
    darks: np.ndarray | None = None
    flat_positions: np.ndarray | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    @property
    def n_projections(self) -> int:
        return int(self.projections.shape[0])

    @property
    def detector_shape(self) -> tuple[int, int]:
        return tuple(self.projections.shape[1:])

    def validate(self) -> None:
        """Raise :class:`FathomInputError` if the parts of the scan disagree."""
        proj = self.projections
        if proj.ndim != 3:
            raise FathomInputError(
                f"projections must be a stack (angles, rows, columns); got {proj.ndim} dimensions"
            )
        if not np.issubdtype(proj.dtype, np.number) or np.issubdtype(proj.dtype, np.complexfloating):
            raise FathomInputError(f"projections have data type {proj.dtype}; expected real numbers")
        if self.values not in ("counts", "line_integrals"):
            raise FathomInputError(
                f"values {self.values!r} unknown: use 'counts' or 'line_integrals'"
            )
        n = proj.shape[0]
        if self.geometry.n_projections != n:
            raise FathomInputError(
                f"the scan has {n} projections but {self.geometry.n_projections} angles: "
                "give one angle per projection"
            )
        if tuple(self.geometry.detector_shape) != tuple(proj.shape[1:]):
            raise FathomInputError(
                f"projections are {proj.shape[1]}×{proj.shape[2]} pixels but the geometry says "
                f"{self.geometry.detector_shape[0]}×{self.geometry.detector_shape[1]}: fix the detector size"
            )
        for name, stack in (("flats", self.flats), ("darks", self.darks)):
            if stack is None:
                continue
            if stack.ndim != 3 or tuple(stack.shape[1:]) != tuple(proj.shape[1:]):
                raise FathomInputError(
                    f"{name} are {tuple(stack.shape[-2:])} pixels but projections are "
                    f"{tuple(proj.shape[1:])}: use {name} taken with the same detector settings"
                )
        if self.flat_positions is not None and self.flats is not None:
            if len(self.flat_positions) != self.flats.shape[0]:
                raise FathomInputError("flat_positions must give one projection index per flat")

    def with_projections(self, projections: np.ndarray, values: Values | None = None, **changes) -> Scan:
        """A new Scan with other projection data (and optionally other fields)."""
        geometry = changes.pop("geometry", self.geometry)
        if tuple(geometry.detector_shape) != tuple(projections.shape[1:]):
            geometry = geometry.with_detector_shape(projections.shape[1:])
        return replace(
            self,
            projections=projections,
            values=values or self.values,
            geometry=geometry,
            **changes,
        )

    def subset(self, indices: np.ndarray | slice) -> Scan:
        """The scan restricted to some projections (e.g. every second one: ``slice(None, None, 2)``)."""
        return replace(
            self,
            projections=self.projections[indices],
            geometry=self.geometry.subset(indices),
            flat_positions=None,
        )

    def describe(self) -> str:
        """A few lines in words: what this scan holds (``fathom info``)."""
        g = self.geometry
        n, rows, cols = self.projections.shape
        lines = [
            f"{n} projections of {rows} rows × {cols} columns ({self.projections.dtype}, {self.values})",
            f"beam: {g.beam}, angles {np.degrees(g.angles_rad.min()):.2f}° to "
            f"{np.degrees(g.angles_rad.max()):.2f}° (coverage {np.degrees(g.angular_range()):.1f}°)",
            f"pixel size {g.pixel_size_mm[0]:.4g} × {g.pixel_size_mm[1]:.4g} mm (row × column)",
        ]
        if g.beam == "cone" and g.source_object_mm is not None:
            lines.append(
                f"source–object {g.source_object_mm:.4g} mm, source–detector "
                f"{g.source_detector_mm:.4g} mm, magnification {g.magnification:.3f}, "
                f"fan half-angle {np.degrees(g.fan_half_angle()):.2f}°"
            )
        if g.rotation_axis_offset_mm or any(g.detector_offset_mm):
            lines.append(
                f"rotation axis offset {g.rotation_axis_offset_mm:.4g} mm, detector offset "
                f"{g.detector_offset_mm[0]:.4g}, {g.detector_offset_mm[1]:.4g} mm (row, column)"
            )
        lines.append(
            f"flats: {0 if self.flats is None else self.flats.shape[0]}, "
            f"darks: {0 if self.darks is None else self.darks.shape[0]}"
        )
        for key, value in self.metadata.items():
            lines.append(f"{key}: {value}")
        return "\n".join(lines)
