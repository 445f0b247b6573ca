"""CIL NeXus files: the ``AcquisitionData`` that the Core Imaging Library's NEXUSDataWriter saves.

Layout (CIL's writer): ``/entry1/tomo_entry/data/data``, attribute ``data_type`` =
"AcquisitionData", with attributes ``geometry`` ("cone" or "parallel"), ``dimension`` ("2D" or
"3D"), ``dim0`` … naming each axis ("channel", "angle", "vertical", "horizontal"),
``pixel_size_h`` / ``pixel_size_v`` and ``panel_origin``; ``/entry1/tomo_entry/config`` holds
``angles`` (attributes ``angle_unit``, ``initial_angle``) and the system at angle 0 as
positions and directions: ``source/position`` (cone) or ``ray/direction`` (parallel),
``detector/position``, ``detector/direction_x`` (and ``direction_y`` in 3D), and
``rotation_axis/position`` (and ``direction`` in 3D). In 2D every vector has two components
(x, y); the detector is one row.

Mapping onto Fathom's convention (DESIGN.md), worked out below and checked on the shared
``gel_fanbeam_nexus`` scan, whose Fathom reconstruction matches CIL's own reconstruction of the
same object in position and handedness (``tests/engine/test_io_cil.py``): a CIL angle θ turns
the *sample* by θ about the rotation axis (counter-clockwise seen from +z), i.e. the source and
detector by −θ. Fathom's angle t puts the source at bearing t − 90° from the axis, so
t = α + 90° − θ, with α the bearing of CIL's source (for parallel beam: the ray's bearing
+ 180°). CIL's pixel index runs along ``direction_x`` from the panel's left end (or its right
end when ``panel_origin`` says "right"); Fathom's column index runs along u = (cos t, sin t),
so the columns are reversed where those disagree. Rows are reversed when the panel's origin is
at the bottom (Fathom's row 0 is the top). Fathom's world keeps CIL's x and y, so a volume on
the same grid comes out oriented as CIL's, and its z origin is the source's height.

Supported: circular scans with the rotation axis along z and the detector upright and facing
the source (or the rays); anything else (a tilted axis or detector) is refused with an error
naming it. The data are taken as CIL keeps them after its own preprocessing: float data as line
integrals (−log done), integer data as raw counts without flats. A file with several channels
(energy bins or time frames) is read one channel at a time: ``frame`` picks it, 0 by default.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ..errors import FathomInputError
from ..geometry import ScanGeometry
from ..progress import CancelToken, ProgressCallback, checkpoint
from ..scan import Scan
from .stacks import check_finite, open_hdf5

DATA = "entry1/tomo_entry/data/data"
CONFIG = "entry1/tomo_entry/config"
AXES = ("channel", "angle", "vertical", "horizontal")
_ALIGNED = 1e-6  # |sin| of the largest misalignment taken as none


def is_cil_nexus(file: h5py.File) -> bool:
    """True if an open HDF5 file holds CIL ``AcquisitionData`` at /entry1/tomo_entry/data/data."""
    dataset = file.get(DATA)
    return isinstance(dataset, h5py.Dataset) and _text(dataset.attrs.get("data_type")) == "AcquisitionData"


def _text(value) -> str | None:
    if isinstance(value, bytes | np.bytes_):
        return value.decode("utf-8", errors="replace")
    return None if value is None else str(value)


class _Layout:
    """What the file says, checked: reads vectors and attributes with errors that name them."""

    def __init__(self, file: h5py.File, path: Path):
        self.file = file
        self.path = path
        self.attrs = file[DATA].attrs
        self.dims = 2 if _text(self.attrs.get("dimension", "3D")) == "2D" else 3

    def fail(self, problem: str) -> FathomInputError:
        return FathomInputError(f"{self.path}: {problem}")

    def attr(self, name: str, default=None):
        value = self.attrs.get(name, default)
        if value is None:
            raise self.fail(f"the CIL data have no '{name}' attribute: the file is incomplete; write it "
                            "again with CIL's NEXUSDataWriter")
        return value

    def vector(self, name: str) -> np.ndarray:
        """A position or direction of the config as a 3-vector (2D files: z = 0)."""
        item = self.file.get(f"{CONFIG}/{name}")
        if not isinstance(item, h5py.Dataset):
            raise self.fail(f"the CIL geometry has no {name}: the file is incomplete; write it again with "
                            "CIL's NEXUSDataWriter")
        value = np.asarray(item[()], dtype=np.float64).reshape(-1)
        if value.size != self.dims or not np.all(np.isfinite(value)):
            raise self.fail(f"{name} is {value.tolist()}: expected {self.dims} finite numbers for a "
                            f"{self.dims}D geometry")
        return np.append(value, 0.0) if value.size == 2 else value

    def angles_rad(self) -> np.ndarray:
        item = self.file.get(f"{CONFIG}/angles")
        if not isinstance(item, h5py.Dataset):
            raise self.fail("the CIL geometry has no angles: the file is incomplete")
        angles = np.asarray(item[()], dtype=np.float64).reshape(-1)
        unit = (_text(item.attrs.get("angle_unit", "degree")) or "degree").lower()
        angles = angles + float(item.attrs.get("initial_angle", 0.0))
        return angles if unit.startswith("rad") else np.radians(angles)

    def axis_order(self, ndim: int) -> list[str]:
        names = [_text(self.attrs.get(f"dim{i}")) for i in range(ndim)]
        if len(set(names)) != ndim or not set(names) <= set(AXES):
            raise self.fail(f"the data's axes are labelled {names}: expected labels among {list(AXES)}, "
                            "each once")
        if "angle" not in names or "horizontal" not in names:
            raise self.fail(f"the data's axes are labelled {names}: a scan needs an 'angle' and a "
                            "'horizontal' axis")
        return names


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _circular_geometry(layout: _Layout):
    """(keyword arguments of Fathom's circular ScanGeometry, Fathom's angle at CIL's θ = 0, reverse
    the columns?, reverse the rows?, (pixel height, width), notes for the metadata)."""
    beam = _text(layout.attr("geometry"))
    if beam not in ("cone", "parallel"):
        raise layout.fail(f"CIL geometry {beam!r} is neither 'cone' nor 'parallel'")
    z = np.array([0.0, 0.0, 1.0])
    if layout.dims == 3:
        axis_dir = _unit(layout.vector("rotation_axis/direction"))
        if abs(abs(axis_dir @ z) - 1.0) > _ALIGNED:
            raise layout.fail(f"the rotation axis points along {axis_dir.round(4).tolist()}: Fathom reads "
                              "CIL scans whose axis is along z only; re-orient the geometry in CIL first")
        if axis_dir[2] < 0:
            raise layout.fail("the rotation axis points along −z: Fathom reads CIL scans whose axis points "
                              "along +z only; flip it (and the angles' sign) in CIL first")
    axis = layout.vector("rotation_axis/position")
    detector = layout.vector("detector/position")
    u_cil = _unit(layout.vector("detector/direction_x"))
    if abs(u_cil[2]) > _ALIGNED:
        raise layout.fail("the detector's rows are tilted out of the horizontal plane: not supported")
    if beam == "cone":
        source = layout.vector("source/position")
        towards = source - axis
        towards[2] = 0.0
        if np.linalg.norm(towards) == 0:
            raise layout.fail("the source sits on the rotation axis: check the geometry")
    else:
        ray = layout.vector("ray/direction")
        if abs(_unit(ray)[2]) > _ALIGNED:
            raise layout.fail("the rays are not horizontal: not supported")
        towards = -ray
    bearing = np.arctan2(towards[1], towards[0])
    normal = _unit(towards)  # from the axis towards the source: the detector must face it
    if abs(u_cil @ normal) > 1e-4:
        raise layout.fail("the detector is turned about the vertical (its rows are not perpendicular to the "
                          "central ray): not supported")
    t0 = bearing + np.pi / 2  # Fathom's angle for CIL's θ = 0
    u_fathom = np.array([np.cos(t0), np.sin(t0), 0.0])
    panel = (_text(layout.attrs.get("panel_origin", "bottom-left")) or "bottom-left").lower()
    reverse_cols = (u_cil @ u_fathom < 0) != ("right" in panel)
    pixel_h = float(layout.attr("pixel_size_h"))
    notes = {}
    reverse_rows = False
    if layout.dims == 3:
        v_cil = _unit(layout.vector("detector/direction_y"))
        if abs(abs(v_cil @ z) - 1.0) > _ALIGNED:
            raise layout.fail("the detector's columns are not vertical (a rolled or pitched panel): not "
                              "supported")
        pixel_v = float(layout.attr("pixel_size_v"))
        # CIL's row index runs along direction_y from the panel's bottom (or top) end
        up = (v_cil[2] > 0) == ("top" not in panel)
        reverse_rows = up  # Fathom's row 0 is the top
    else:
        pixel_v = pixel_h
        notes["pixel_height"] = "2D scan: one detector row, its height taken equal to the pixel width"
    if not (np.isfinite(pixel_h) and pixel_h > 0 and np.isfinite(pixel_v) and pixel_v > 0):
        raise layout.fail(f"pixel sizes {pixel_h}, {pixel_v} must be positive")
    if beam == "cone":
        sod = float(np.linalg.norm(towards))
        sdd = float((source - detector) @ normal)
        if sdd <= sod:
            raise layout.fail(f"the detector is {sdd:.4g} mm from the source, not beyond the axis "
                              f"({sod:.4g} mm)")
        pierce = source - normal * sdd  # where the ray through the axis meets the detector
        offset_col = float((detector - pierce) @ u_fathom)
        offset_row = -float(detector[2] - source[2])  # Fathom's row offset points down
        geometry = dict(beam="cone", source_object_mm=sod, source_detector_mm=sdd,
                        detector_offset_mm=(offset_row, offset_col))
        if source[2] != 0.0:
            notes["z_origin"] = f"z measured from the source's height ({source[2]:.4g} mm in the file)"
    else:
        geometry = dict(beam="parallel", rotation_axis_offset_mm=float((axis - detector) @ u_fathom))
    return geometry, t0, reverse_cols, reverse_rows, (pixel_v, pixel_h), notes


def read_cil_nexus(
    path: str | Path,
    *,
    frame: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Scan:
    """Read a CIL NeXus ``AcquisitionData`` file (conventions in the module docstring).

    Parameters
    ----------
    path : the ``.nxs`` file.
    frame : the channel (energy bin or time frame) to read when the file has several; 0 by
        default.

    Raises
    ------
    FathomInputError
        For a file that is not CIL acquisition data, an incomplete or unsupported geometry, a
        frame out of range, sizes that disagree, or NaN/inf values.
    """
    path = Path(path).expanduser()
    with open_hdf5(path) as file:
        if not is_cil_nexus(file):
            raise FathomInputError(f"{path} holds no CIL AcquisitionData at /{DATA}")
        layout = _Layout(file, path)
        dataset = file[DATA]
        names = layout.axis_order(dataset.ndim)
        channels = dataset.shape[names.index("channel")] if "channel" in names else 1
        chosen = 0 if frame is None else int(frame)
        if not 0 <= chosen < channels:
            raise FathomInputError(f"{path} has {channels} frame(s) (channels): frame {chosen} does not "
                                   f"exist; pick one from 0 to {channels - 1}")
        selection = tuple(chosen if name == "channel" else slice(None) for name in names)
        checkpoint(cancel, progress, 0.1, "reading projections")
        data = np.asarray(dataset[selection])
        kept = [name for name in names if name != "channel"]
        if "vertical" not in kept:
            data = data[..., None]
            kept.append("vertical")
        data = np.transpose(data, [kept.index(a) for a in ("angle", "vertical", "horizontal")])
        angles_cil = layout.angles_rad()
        n, rows, cols = data.shape
        if angles_cil.size != n:
            raise FathomInputError(f"{path} has {angles_cil.size} angles for {n} projections: the file is "
                                   "inconsistent")
        geometry_args, t0, reverse_cols, reverse_rows, pixel, notes = _circular_geometry(layout)
    if reverse_cols:
        data = data[:, :, ::-1]
    if reverse_rows:
        data = data[:, ::-1, :]
    projections = np.ascontiguousarray(data)
    projections.setflags(write=False)
    check_finite(projections, "projections", path, cancel=cancel)
    values = "line_integrals" if np.issubdtype(projections.dtype, np.floating) else "counts"
    try:
        geometry = ScanGeometry(angles_rad=t0 - angles_cil, detector_shape=(rows, cols), pixel_size_mm=pixel,
                                **geometry_args)
    except FathomInputError as exc:
        raise FathomInputError(f"{path}: {exc}") from None
    metadata = {"format": "CIL NeXus (AcquisitionData)", "source": str(path),
                "values": "line integrals (−log done in CIL)" if values == "line_integrals"
                else "raw counts, no flats in the file"}
    if channels > 1:
        metadata["frame"] = (f"{chosen} of {channels} channels (frames) read; pick another with "
                             "'--frame N' on the command line")
    metadata.update(notes)
    checkpoint(cancel, progress, 1.0, "scan loaded")
    return Scan(projections=projections, geometry=geometry, values=values, metadata=metadata)
