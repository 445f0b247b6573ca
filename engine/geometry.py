"""Acquisition and volume geometry: the one statement of Fathom's convention.

Everything that knows where a ray goes reads it from here. A scan geometry is converted once to
per-projection vectors (source or ray direction, detector centre, u, v) in ASTRA's vector form;
the projectors consume nothing else, so circular, tilted, offset and fully general trajectories
all reach the kernels the same way.

Convention (DESIGN.md): lengths in mm, angles in rad, attenuation in 1/mm. World z is the rotation
axis, pointing up, right-handed. At angle t the source sits at (SOD·sin t, −SOD·cos t, 0) and the
detector centre at (−(SDD−SOD)·sin t, (SDD−SOD)·cos t, 0). Detector columns run along
u = (cos t, sin t, 0), column 0 at the −u end; rows run from the top (row 0, largest z) down, so
the row step is (0, 0, −pixel height). Projections are ``proj[angle, row, column]``; volumes are
``vol[z, y, x]`` with z increasing upward and voxel centres at (index − (n−1)/2)·voxel + centre.

Corrections of a circular scan, all optional:

* ``detector_offset_mm = (row, column)``: the detector centre is displaced by ``column`` along u
  and by ``row`` along the row step (downward) from where the convention puts it.
* ``rotation_axis_offset_mm``: where the rotation axis lands on the detector, in mm along u from
  the central ray's piercing point (positive: towards +u, i.e. towards higher column indices).
  Source and detector move together, so this changes the sampling, not the magnification.
* ``detector_tilt_rad = (roll, pitch, yaw)``: detector rotations about its centre, applied in
  that order: roll about the detector normal (in-plane rotation), pitch about the u axis, yaw
  about the row axis.
* ``vectors``: a general per-projection form, shape (n, 12): source (cone) or ray direction
  (parallel), detector centre, u step, v step (row step). When given it overrides all the above.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from .errors import FathomInputError

BeamType = Literal["cone", "parallel"]


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix about the unit vector ``axis`` by ``angle`` (Rodrigues)."""
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


@dataclass(frozen=True, eq=False)
class ScanGeometry:
    """Where source, sample and detector are for every projection.

    Parameters
    ----------
    beam : "cone" or "parallel"
    angles_rad : (n,) rotation angles in radians.
    detector_shape : (rows, columns) in pixels.
    pixel_size_mm : (row pitch, column pitch) in mm.
    source_object_mm, source_detector_mm : distances for cone beam (ignored for parallel).
    detector_offset_mm, rotation_axis_offset_mm, detector_tilt_rad : corrections, see module doc.
    vectors : optional (n, 12) general form; overrides the circular description.
    """

    beam: BeamType
    angles_rad: np.ndarray
    detector_shape: tuple[int, int]
    pixel_size_mm: tuple[float, float] = (1.0, 1.0)
    source_object_mm: float | None = None
    source_detector_mm: float | None = None
    detector_offset_mm: tuple[float, float] = (0.0, 0.0)
    rotation_axis_offset_mm: float = 0.0
    detector_tilt_rad: tuple[float, float, float] = (0.0, 0.0, 0.0)
    vectors_override: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        angles = np.asarray(self.angles_rad, dtype=np.float64).reshape(-1)
        object.__setattr__(self, "angles_rad", angles)
        object.__setattr__(self, "detector_shape", tuple(int(s) for s in self.detector_shape))
        object.__setattr__(self, "pixel_size_mm", tuple(float(p) for p in self.pixel_size_mm))
        object.__setattr__(
            self, "detector_offset_mm", tuple(float(p) for p in self.detector_offset_mm)
        )
        object.__setattr__(
            self, "detector_tilt_rad", tuple(float(p) for p in self.detector_tilt_rad)
        )
        self.validate()

    # -- checks -------------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`FathomInputError` naming the first inconsistency found."""
        if self.beam not in ("cone", "parallel"):
            raise FathomInputError(
                f"geometry type {self.beam!r} is not supported: use 'cone' or 'parallel'"
            )
        if self.angles_rad.size == 0:
            raise FathomInputError("the scan has no projection angles: give angles_rad or angles_deg")
        if not np.all(np.isfinite(self.angles_rad)):
            raise FathomInputError("some projection angles are NaN or infinite: fix the angle list")
        rows, cols = self.detector_shape
        if rows < 1 or cols < 1:
            raise FathomInputError(f"detector shape {self.detector_shape} must be at least 1×1 pixels")
        if not all(np.isfinite(p) and p > 0 for p in self.pixel_size_mm):
            raise FathomInputError(
                f"pixel size {self.pixel_size_mm} mm must be positive: give pixel_size_mm [row, column]"
            )
        if self.beam == "cone" and self.vectors_override is None:
            sod, sdd = self.source_object_mm, self.source_detector_mm
            if sod is None or sdd is None:
                raise FathomInputError(
                    "a cone-beam geometry needs source_object_mm and source_detector_mm"
                )
            if not (np.isfinite(sod) and np.isfinite(sdd)) or sod <= 0 or sdd <= 0:
                raise FathomInputError(
                    f"source-object ({sod} mm) and source-detector ({sdd} mm) distances must be "
                    "positive: check the scanner's geometry values"
                )
            if sdd <= sod:
                raise FathomInputError(
                    f"source-detector distance ({sdd} mm) must be larger than source-object "
                    f"distance ({sod} mm): the sample sits between source and detector; "
                    "check whether the two values are swapped"
                )
        if self.vectors_override is not None:
            vec = np.asarray(self.vectors_override)
            if vec.shape != (self.angles_rad.size, 12):
                raise FathomInputError(
                    f"geometry vectors have shape {vec.shape}, expected ({self.angles_rad.size}, 12): "
                    "one row (source, detector centre, u, v) per projection"
                )
            if not np.all(np.isfinite(vec)):
                raise FathomInputError("geometry vectors contain NaN or infinite values")

    # -- derived quantities -------------------------------------------------------------------
    @property
    def n_projections(self) -> int:
        return int(self.angles_rad.size)

    @property
    def magnification(self) -> float:
        if self.beam == "parallel":
            return 1.0
        if self.vectors_override is not None and self.source_object_mm is None:
            vec = self.vectors()
            sod = np.linalg.norm(vec[:, 0:2], axis=1).mean()
            sdd = np.linalg.norm(vec[:, 0:3] - vec[:, 3:6], axis=1).mean()
            return float(sdd / sod)
        return float(self.source_detector_mm / self.source_object_mm)

    def vectors(self) -> np.ndarray:
        """Per-projection geometry, shape (n, 12), float64.

        Columns 0–2: source position (cone) or ray direction, source → detector (parallel);
        3–5: detector centre; 6–8: step from one column to the next (u, length = column pitch);
        9–11: step from one row to the next (v, length = row pitch, pointing down for no tilt).
        This is ASTRA's ``cone_vec`` / ``parallel3d_vec`` layout.
        """
        if self.vectors_override is not None:
            return np.asarray(self.vectors_override, dtype=np.float64).copy()
        t = self.angles_rad
        s, c = np.sin(t), np.cos(t)
        zeros, ones = np.zeros_like(t), np.ones_like(t)
        u_hat = np.stack([c, s, zeros], axis=1)
        toward_detector = np.stack([-s, c, zeros], axis=1)  # source → detector unit vector
        down = np.stack([zeros, zeros, -ones], axis=1)
        row_pitch, col_pitch = self.pixel_size_mm
        off_row, off_col = self.detector_offset_mm

        if self.beam == "cone":
            sod, sdd = float(self.source_object_mm), float(self.source_detector_mm)
            source = -sod * toward_detector
            detector = (sdd - sod) * toward_detector
            # The axis must land rotation_axis_offset_mm along u from the central ray on the
            # detector; moving source and detector by -offset·SOD/SDD along u does that.
            shift = -self.rotation_axis_offset_mm * sod / sdd
            source = source + shift * u_hat
            detector = detector + shift * u_hat
            first = source
        else:
            detector = -self.rotation_axis_offset_mm * u_hat
            first = toward_detector.copy()
        detector = detector + off_col * u_hat + off_row * down

        u = u_hat.copy()
        v = down.copy()
        roll, pitch, yaw = self.detector_tilt_rad
        if roll or pitch or yaw:
            for i in range(t.size):
                normal = toward_detector[i]
                rot = _rotation(normal, roll)
                u_i, v_i = rot @ u[i], rot @ v[i]
                rot = _rotation(u_i, pitch)
                v_i = rot @ v_i
                rot = _rotation(v_i, yaw)
                u_i = rot @ u_i
                u[i], v[i] = u_i, v_i
        return np.concatenate([first, detector, u * col_pitch, v * row_pitch], axis=1)

    def astra_vectors(self) -> tuple[str, np.ndarray]:
        """ASTRA geometry type (``cone_vec`` or ``parallel3d_vec``) and its (n, 12) array.

        ASTRA stores projections as [row, angle, column]; transpose ``proj`` with
        ``proj.transpose(1, 0, 2)`` before handing it over. The vectors are the same numbers:
        the convention here is ASTRA's with v pointing down.
        """
        return ("cone_vec" if self.beam == "cone" else "parallel3d_vec"), self.vectors()

    def subset(self, indices: np.ndarray | slice) -> ScanGeometry:
        """The geometry of a subset of projections (for ordered subsets and chunking)."""
        vec = None if self.vectors_override is None else self.vectors_override[indices]
        return replace(self, angles_rad=self.angles_rad[indices], vectors_override=vec)

    def with_rotation_axis_offset(self, offset_mm: float) -> ScanGeometry:
        return replace(self, rotation_axis_offset_mm=float(offset_mm))

    def with_detector_shape(self, shape: tuple[int, int]) -> ScanGeometry:
        return replace(self, detector_shape=tuple(shape))

    def detector_window(self, first_row: int, first_col: int, rows: int, cols: int) -> ScanGeometry:
        """The geometry of the pixel block ``[first_row, +rows) × [first_col, +cols)`` alone.

        Used to work on an ROI's footprint only; ``proj[:, first_row:first_row + rows,
        first_col:first_col + cols]`` are its projections. Returned in the vector form, so tilts
        and offsets carry over exactly.
        """
        total_rows, total_cols = self.detector_shape
        if not (0 <= first_row and rows >= 1 and first_row + rows <= total_rows
                and 0 <= first_col and cols >= 1 and first_col + cols <= total_cols):
            raise FathomInputError(
                f"detector window rows {first_row}+{rows}, columns {first_col}+{cols} is not inside "
                f"the {total_rows}×{total_cols} detector"
            )
        vec = self.vectors()
        row_shift = first_row + (rows - 1) / 2 - (total_rows - 1) / 2
        col_shift = first_col + (cols - 1) / 2 - (total_cols - 1) / 2
        vec[:, 3:6] += col_shift * vec[:, 6:9] + row_shift * vec[:, 9:12]
        return replace(self, detector_shape=(int(rows), int(cols)), vectors_override=vec)

    def angular_range(self) -> float:
        """Angular coverage in radians, counting one step beyond the last angle."""
        a = np.sort(np.unwrap(self.angles_rad))
        if a.size < 2:
            return 0.0
        step = np.median(np.diff(a))
        return float(a[-1] - a[0] + step)

    def fan_half_angle(self) -> float:
        """Half the fan angle of a cone beam (radians), 0 for parallel beam."""
        if self.beam == "parallel":
            return 0.0
        vec = self.vectors()
        src, det, u = vec[:, 0:3], vec[:, 3:6], vec[:, 6:9]
        half = (self.detector_shape[1] - 1) / 2 + 0.5
        dist = np.linalg.norm(det - src, axis=1)
        u_len = np.linalg.norm(u, axis=1)
        reach = np.abs(np.sum((det - src) * u, axis=1)) / u_len + half * u_len
        return float(np.max(np.arctan2(reach, dist)))

    def to_dict(self) -> dict:
        """The geometry part of ``scan.json``."""
        d: dict = {
            "type": self.beam,
            "pixel_size_mm": list(self.pixel_size_mm),
            "detector_offset_mm": list(self.detector_offset_mm),
            "rotation_axis_offset_mm": self.rotation_axis_offset_mm,
        }
        if self.beam == "cone":
            d["source_object_mm"] = self.source_object_mm
            d["source_detector_mm"] = self.source_detector_mm
        if any(self.detector_tilt_rad):
            d["detector_tilt_rad"] = list(self.detector_tilt_rad)
        if self.vectors_override is not None:
            d["vectors"] = np.asarray(self.vectors_override).tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict, angles_rad: np.ndarray, detector_shape: tuple[int, int]) -> ScanGeometry:
        """Inverse of :meth:`to_dict` (angles and detector shape come from the scan)."""
        beam = d.get("type", "cone")
        vec = d.get("vectors")
        return cls(
            beam=beam,
            angles_rad=angles_rad,
            detector_shape=detector_shape,
            pixel_size_mm=tuple(_pair(d.get("pixel_size_mm", (1.0, 1.0)), "pixel_size_mm")),
            source_object_mm=_opt_float(d.get("source_object_mm")),
            source_detector_mm=_opt_float(d.get("source_detector_mm")),
            detector_offset_mm=tuple(_pair(d.get("detector_offset_mm", (0.0, 0.0)), "detector_offset_mm")),
            rotation_axis_offset_mm=float(d.get("rotation_axis_offset_mm", 0.0)),
            detector_tilt_rad=tuple(d.get("detector_tilt_rad", (0.0, 0.0, 0.0))),
            vectors_override=None if vec is None else np.asarray(vec, dtype=np.float64),
        )


def _pair(value, name: str) -> tuple[float, float]:
    if np.isscalar(value):
        return float(value), float(value)
    value = list(value)
    if len(value) != 2:
        raise FathomInputError(f"{name} must be one number or [row, column], got {value!r}")
    return float(value[0]), float(value[1])


def _opt_float(value) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class VolumeGeometry:
    """A box of voxels in the world frame.

    Parameters
    ----------
    shape : (nz, ny, nx) voxels.
    voxel_size_mm : (z, y, x) voxel pitch in mm.
    center_mm : (z, y, x) world position of the box centre in mm.
    """

    shape: tuple[int, int, int]
    voxel_size_mm: tuple[float, float, float]
    center_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.shape)
        vs = self.voxel_size_mm
        vs = (float(vs),) * 3 if np.isscalar(vs) else tuple(float(v) for v in vs)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "voxel_size_mm", vs)
        object.__setattr__(self, "center_mm", tuple(float(c) for c in self.center_mm))
        if len(shape) != 3 or min(shape) < 1:
            raise FathomInputError(f"volume shape {shape} must be three positive sizes (nz, ny, nx)")
        if len(vs) != 3 or not all(np.isfinite(v) and v > 0 for v in vs):
            raise FathomInputError(f"voxel size {vs} mm must be positive")
        if len(self.center_mm) != 3 or not all(np.isfinite(c) for c in self.center_mm):
            raise FathomInputError(f"volume centre {self.center_mm} mm must be three finite numbers")

    @property
    def n_voxels(self) -> int:
        return int(np.prod(self.shape))

    @property
    def origin_mm(self) -> tuple[float, float, float]:
        """World position (z, y, x) of the centre of voxel (0, 0, 0)."""
        sizes = zip(self.center_mm, self.shape, self.voxel_size_mm, strict=True)
        return tuple(c - (n - 1) / 2 * v for c, n, v in sizes)

    def axis_mm(self, axis: int) -> np.ndarray:
        """Voxel-centre coordinates along ``axis`` (0 = z, 1 = y, 2 = x) in mm."""
        n, v, o = self.shape[axis], self.voxel_size_mm[axis], self.origin_mm[axis]
        return o + v * np.arange(n)

    def extent_mm(self) -> tuple[tuple[float, float], ...]:
        """(low, high) outer edges along z, y, x."""
        return tuple(
            (c - n * v / 2, c + n * v / 2)
            for c, n, v in zip(self.center_mm, self.shape, self.voxel_size_mm, strict=True)
        )

    def sub_volume(
        self, start: tuple[int, int, int], shape: tuple[int, int, int]
    ) -> VolumeGeometry:
        """The geometry of the voxel block ``[start, start + shape)`` of this volume (an ROI)."""
        start = tuple(int(s) for s in start)
        shape = tuple(int(s) for s in shape)
        for s, n, full in zip(start, shape, self.shape, strict=True):
            if s < 0 or n < 1 or s + n > full:
                raise FathomInputError(
                    f"ROI start {start} with shape {shape} does not fit in the volume {self.shape}"
                )
        center = tuple(
            o + (s + (n - 1) / 2) * v
            for o, s, n, v in zip(self.origin_mm, start, shape, self.voxel_size_mm, strict=True)
        )
        return VolumeGeometry(shape, self.voxel_size_mm, center)

    def to_dict(self) -> dict:
        return {
            "shape": list(self.shape),
            "voxel_size_mm": list(self.voxel_size_mm),
            "center_mm": list(self.center_mm),
        }


def default_volume(geometry: ScanGeometry, voxel_size_mm: float | None = None) -> VolumeGeometry:
    """The largest cylinder seen by every projection, at the magnified pixel size.

    For a cone beam the cylinder's radius is where the outermost ray of the fan passes the axis
    at its closest, and its height is limited by the cone at the cylinder's edge nearest the
    source (so every voxel is seen in every projection). ``voxel_size_mm`` overrides the pitch.
    """
    rows, cols = geometry.detector_shape
    row_pitch, col_pitch = geometry.pixel_size_mm
    mag = geometry.magnification
    voxel = float(voxel_size_mm) if voxel_size_mm else col_pitch / mag
    half_width = cols * col_pitch / 2
    half_height = rows * row_pitch / 2
    # The axis may not be centred on the detector: the narrower side limits the field of view.
    axis_on_detector = geometry.rotation_axis_offset_mm - geometry.detector_offset_mm[1]
    half_width = max(half_width - abs(axis_on_detector), col_pitch)
    if geometry.beam == "cone":
        sod, sdd = float(geometry.source_object_mm), float(geometry.source_detector_mm)
        radius = sod * np.sin(np.arctan2(half_width, sdd))
        half_z = half_height * (sod - radius) / sdd
    else:
        radius = half_width
        half_z = half_height
    n_xy = max(1, int(np.floor(2 * radius / voxel)))
    n_z = max(1, int(np.floor(2 * half_z / voxel)))
    center_z = -geometry.detector_offset_mm[0] / mag
    return VolumeGeometry((n_z, n_xy, n_xy), (voxel, voxel, voxel), (center_z, 0.0, 0.0))
