"""Resampling a volume on any plane, with a physical pixel size and an optional slab projection.

One code path serves the screen and the files: :class:`PlaneSampler` keeps a
``vtkImageReslice`` bound to the volume (zero-copy, multi-threaded C++, no OpenGL), the viewer
connects its output to an image actor, and :meth:`PlaneSampler.sample` returns the same pixels
as a :class:`SliceImage` for export and tests. A slab takes the maximum, mean or minimum of
slices spread evenly across its thickness along the normal (maximum follows a trace or a bright
ball, minimum finds a void, mean averages noise away).

Pixel grid: square pixels of ``pixel_size_mm`` (default the smallest voxel size), anchored on
the projection of voxel (0, 0, 0)'s centre so that an axis-aligned slice samples voxel centres
exactly. Outside the volume the value is 0 (air).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkImagingCore import vtkImageReslice

from .planes import Plane, section_extent

SLAB_MODES = ("max", "mean", "min")
INTERPOLATIONS = ("nearest", "linear", "cubic")
#: Largest slice edge in pixels, so that a tiny pixel size cannot ask for a giant image.
MAX_SLICE_PIXELS = 8192


@dataclass(frozen=True)
class VolumeGrid:
    """Where the voxels of a ``data[z, y, x]`` array sit: shape, voxel size, origin (all z, y, x)."""

    shape: tuple[int, int, int]
    voxel_size_mm: tuple[float, float, float]
    origin_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.shape)
        voxel = tuple(float(v) for v in np.broadcast_to(np.asarray(self.voxel_size_mm, float), (3,)))
        origin = tuple(float(o) for o in np.broadcast_to(np.asarray(self.origin_mm, float), (3,)))
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"volume shape {shape} must be three positive sizes (z, y, x)")
        if not all(np.isfinite(v) and v > 0 for v in voxel):
            raise ValueError(f"voxel size {voxel} mm must be three positive numbers (z, y, x)")
        if not all(np.isfinite(o) for o in origin):
            raise ValueError(f"origin {origin} mm must be three finite numbers (z, y, x)")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "voxel_size_mm", voxel)
        object.__setattr__(self, "origin_mm", origin)

    @property
    def spacing_xyz(self) -> np.ndarray:
        return np.array(self.voxel_size_mm[::-1])

    @property
    def origin_xyz(self) -> np.ndarray:
        return np.array(self.origin_mm[::-1])

    @property
    def size_xyz(self) -> np.ndarray:
        return np.array(self.shape[::-1])

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Outer edges (low, high) of the voxels, world (x, y, z) mm."""
        low = self.origin_xyz - self.spacing_xyz / 2
        return low, low + self.size_xyz * self.spacing_xyz

    def centre(self) -> np.ndarray:
        low, high = self.bounds()
        return (low + high) / 2

    def index_of(self, points) -> np.ndarray:
        """Fractional voxel indices (..., 3) ordered (z, y, x) of world points (x, y, z)."""
        xyz = (np.asarray(points, dtype=np.float64) - self.origin_xyz) / self.spacing_xyz
        return xyz[..., ::-1]

    def world_of(self, index_zyx) -> np.ndarray:
        """World point (x, y, z) of a (z, y, x) voxel index (fractional allowed)."""
        index_xyz = np.asarray(index_zyx, dtype=np.float64)[..., ::-1]
        return self.origin_xyz + index_xyz * self.spacing_xyz

    def nearest_voxel(self, point) -> tuple[int, int, int] | None:
        """(z, y, x) index of the voxel holding ``point``, or None outside the volume."""
        index = np.rint(self.index_of(point)).astype(int)
        if np.any(index < 0) or np.any(index >= np.array(self.shape)):
            return None
        return tuple(int(i) for i in index)

    def snap_to_voxel(self, point, normal) -> np.ndarray:
        """``point`` moved along an axis-aligned ``normal`` onto the nearest voxel-centre layer.

        An orthogonal slice then shows voxels as they are, not blended between two layers.
        Points are returned unchanged for oblique normals.
        """
        point = np.asarray(point, dtype=np.float64).copy()
        normal = np.asarray(normal, dtype=np.float64)
        axis = int(np.argmax(np.abs(normal)))
        if abs(abs(normal[axis]) - 1.0) > 1e-9:
            return point
        n, o, s = self.size_xyz[axis], self.origin_xyz[axis], self.spacing_xyz[axis]
        k = np.clip(np.rint((point[axis] - o) / s), 0, n - 1)
        point[axis] = o + k * s
        return point

    def clamp(self, point) -> np.ndarray:
        """``point`` held inside the outer edges of the volume."""
        low, high = self.bounds()
        return np.clip(np.asarray(point, dtype=np.float64), low, high)


def vtk_image(data: np.ndarray, grid: VolumeGrid) -> vtkImageData:
    """A ``vtkImageData`` that shares memory with ``data[z, y, x]`` (kept alive by the image).

    VTK's point order (x fastest) is NumPy's C order of (z, y, x), so no copy is needed when
    ``data`` is C-contiguous.
    """
    data = np.ascontiguousarray(data)
    if tuple(data.shape) != grid.shape:
        raise ValueError(f"volume data {data.shape} does not match its grid {grid.shape}")
    image = vtkImageData()
    image.SetDimensions(*grid.size_xyz.tolist())
    image.SetSpacing(*grid.spacing_xyz.tolist())
    image.SetOrigin(*grid.origin_xyz.tolist())
    scalars = numpy_to_vtk(data.reshape(-1), deep=False)
    scalars.SetName("values")
    image.GetPointData().SetScalars(scalars)
    image._fathom_array = data  # the VTK array borrows this buffer
    return image


@dataclass(frozen=True)
class SliceLayout:
    """The pixel grid of one resampled slice, in the plane's (u, v) millimetres.

    Column ``c`` sits at u = ``u0 + c·pixel_size_mm``; row ``r`` *of the VTK output* (bottom row
    first) at v = ``v0 + r·pixel_size_mm``. A slab takes ``slab_slices`` samples ``slab_step_mm``
    apart along the normal, centred on the plane.
    """

    u0: float
    v0: float
    columns: int
    rows: int
    pixel_size_mm: float
    slab_slices: int = 1
    slab_step_mm: float = 0.0
    slab_mode: str = "max"

    @property
    def slab_mm(self) -> float:
        return self.slab_slices * self.slab_step_mm if self.slab_slices > 1 else 0.0

    @property
    def v_top(self) -> float:
        return self.v0 + (self.rows - 1) * self.pixel_size_mm


@dataclass(frozen=True, eq=False)
class SliceImage:
    """A resampled slice: ``pixels[row, column]`` (float32, 1/mm), row 0 at the *top* of the image.

    Pixel (row, column) is centred at ``plane.to_world(u0 + column·p, v_top − row·p)`` with
    p = ``pixel_size_mm``: the image reads as on screen (u right, v up), never mirrored.
    """

    pixels: np.ndarray
    plane: Plane
    layout: SliceLayout

    @property
    def pixel_size_mm(self) -> float:
        return self.layout.pixel_size_mm

    def world_of_pixel(self, row, column) -> np.ndarray:
        """World (x, y, z) mm of pixel centres (fractional rows/columns allowed)."""
        p = self.layout.pixel_size_mm
        u = self.layout.u0 + np.asarray(column, dtype=np.float64) * p
        v = self.layout.v_top - np.asarray(row, dtype=np.float64) * p
        return self.plane.to_world(u, v)

    def pixel_of_world(self, points) -> np.ndarray:
        """(..., 2) fractional (row, column) of world points projected onto the plane."""
        uvw = self.plane.to_plane(points)
        p = self.layout.pixel_size_mm
        return np.stack([(self.layout.v_top - uvw[..., 1]) / p, (uvw[..., 0] - self.layout.u0) / p], axis=-1)

    def describe(self) -> dict:
        """Where the pixels are in the sample: the sidecar of an exported slice."""
        rows, columns = self.pixels.shape
        p = self.layout.pixel_size_mm
        return {
            "pixel_size_mm": p,
            "shape": [rows, columns],
            "top_left_pixel_centre_mm": _xyz(self.world_of_pixel(0, 0)),
            "column_step_mm": _xyz(self.plane.u * p),
            "row_step_mm": _xyz(-self.plane.v * p),
            "pixel_to_world": "world(row, column) = top_left_pixel_centre_mm + column * column_step_mm "
            "+ row * row_step_mm",
            "slab": {
                "thickness_mm": self.layout.slab_mm,
                "projection": self.layout.slab_mode if self.layout.slab_slices > 1 else "none",
                "samples": self.layout.slab_slices,
            },
        }


def _xyz(vec) -> dict[str, float]:
    return {"x": float(vec[0]), "y": float(vec[1]), "z": float(vec[2])}


def slab_sampling(slab_mm: float, voxel_size_mm: float) -> tuple[int, float]:
    """(number of samples, spacing in mm) that cover a slab of ``slab_mm`` at voxel resolution.

    The count is odd, so the middle sample lies on the plane: a maximum-intensity slab is never
    darker than the thin slice, a minimum one never brighter.
    """
    if not np.isfinite(slab_mm) or slab_mm < 0:
        raise ValueError(f"slab thickness {slab_mm} mm must be zero (a thin slice) or positive")
    if slab_mm <= voxel_size_mm * 1e-6:
        return 1, voxel_size_mm
    count = max(1, int(np.ceil(slab_mm / voxel_size_mm - 1e-6)))
    count += 1 - count % 2  # odd, so that the plane itself is one of the samples
    return count, slab_mm / count


class PlaneSampler:
    """Resamples one volume on planes, reusing one ``vtkImageReslice`` (cheap to call repeatedly).

    Parameters
    ----------
    data : ``(z, y, x)`` array, 1/mm; a C-contiguous float32 array is shared, not copied, so keep
        it unchanged while the sampler lives (other arrays are converted once).
    voxel_size_mm, origin_mm : (z, y, x); the origin is the centre of voxel (0, 0, 0).
    """

    def __init__(self, data: np.ndarray, voxel_size_mm, origin_mm=(0.0, 0.0, 0.0)) -> None:
        data = np.asarray(data)
        if data.ndim != 3:
            raise ValueError(f"a volume must be 3D (z, y, x), got shape {data.shape}")
        if data.dtype != np.float32:
            data = data.astype(np.float32)
        self.grid = VolumeGrid(data.shape, voxel_size_mm, origin_mm)
        self.image = vtk_image(data, self.grid)
        self.data = self.image._fathom_array  # C-contiguous (copied only if it was not)
        self.reslice: vtkImageReslice
        self.layout: SliceLayout | None = None
        self.plane: Plane | None = None
        self._make_reslice()

    @classmethod
    def sharing(cls, other: PlaneSampler) -> PlaneSampler:
        """A second sampler on ``other``'s volume (same memory, its own reslice filter and plane)."""
        sampler = cls.__new__(cls)
        sampler.grid, sampler.data, sampler.image = other.grid, other.data, other.image
        sampler._make_reslice()
        return sampler

    def _make_reslice(self) -> None:
        self.reslice = vtkImageReslice()
        self.reslice.SetInputData(self.image)
        self.reslice.SetOutputDimensionality(2)
        self.reslice.SetBackgroundLevel(0.0)
        self.reslice.SetInterpolationModeToLinear()
        self.reslice.AutoCropOutputOff()
        self.layout = None
        self.plane = None

    @property
    def min_voxel_mm(self) -> float:
        return float(min(self.grid.voxel_size_mm))

    def layout_for(
        self,
        plane: Plane,
        *,
        pixel_size_mm: float | None = None,
        extent: tuple[float, float, float, float] | None = None,
        slab_mm: float = 0.0,
        slab_mode: str = "max",
    ) -> SliceLayout:
        """The pixel grid a slice of ``plane`` gets (see :class:`SliceLayout`)."""
        if slab_mode not in SLAB_MODES:
            raise ValueError(f"slab projection {slab_mode!r} is not one of {', '.join(SLAB_MODES)}")
        pixel = float(pixel_size_mm) if pixel_size_mm else self.min_voxel_mm
        if not np.isfinite(pixel) or pixel <= 0:
            raise ValueError(f"pixel size {pixel_size_mm} mm must be positive")
        if extent is None:
            extent = section_extent(plane, *self.grid.bounds())
            if extent is None:  # the plane misses the volume: a small empty image where it is
                extent = (-pixel, pixel, -pixel, pixel)
        u_min, u_max, v_min, v_max = (float(e) for e in extent)
        # Anchor the grid on voxel (0, 0, 0)'s centre projected into the plane.
        anchor = plane.to_plane(self.grid.origin_xyz)[:2]
        first_u = anchor[0] + np.ceil((u_min - anchor[0]) / pixel - 1e-6) * pixel
        first_v = anchor[1] + np.ceil((v_min - anchor[1]) / pixel - 1e-6) * pixel
        columns = int(np.floor((u_max - first_u) / pixel + 1e-6)) + 1
        rows = int(np.floor((v_max - first_v) / pixel + 1e-6)) + 1
        if max(columns, rows) > MAX_SLICE_PIXELS:
            raise ValueError(
                f"a slice of {columns}×{rows} pixels is too large: choose a pixel size of at least "
                f"{max(u_max - u_min, v_max - v_min) / MAX_SLICE_PIXELS:.4g} mm"
            )
        count, step = slab_sampling(slab_mm, self.min_voxel_mm)
        return SliceLayout(
            float(first_u), float(first_v), max(columns, 1), max(rows, 1), pixel, count, step, slab_mode
        )

    def configure(self, plane: Plane, layout: SliceLayout, interpolation: str = "linear") -> None:
        """Point the reslice filter at ``plane`` with ``layout`` (the output updates lazily)."""
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation {interpolation!r} is not one of {', '.join(INTERPOLATIONS)}")
        r = self.reslice
        r.SetResliceAxesDirectionCosines(*plane.u, *plane.v, *plane.normal)
        r.SetResliceAxesOrigin(*plane.point)
        r.SetOutputSpacing(layout.pixel_size_mm, layout.pixel_size_mm, layout.slab_step_mm or 1.0)
        r.SetOutputOrigin(layout.u0, layout.v0, 0.0)
        r.SetOutputExtent(0, layout.columns - 1, 0, layout.rows - 1, 0, 0)
        r.SetSlabNumberOfSlices(layout.slab_slices)
        {"max": r.SetSlabModeToMax, "mean": r.SetSlabModeToMean, "min": r.SetSlabModeToMin}[
            layout.slab_mode
        ]()
        {
            "nearest": r.SetInterpolationModeToNearestNeighbor,
            "linear": r.SetInterpolationModeToLinear,
            "cubic": r.SetInterpolationModeToCubic,
        }[interpolation]()
        self.plane, self.layout = plane, layout

    def output_pixels(self) -> np.ndarray:
        """The current output as a (rows, columns) view, *bottom row first* (VTK's order)."""
        self.reslice.Update()
        out = self.reslice.GetOutput()
        values = vtk_to_numpy(out.GetPointData().GetScalars())
        return values.reshape(self.layout.rows, self.layout.columns)

    def sample(
        self,
        plane: Plane,
        *,
        pixel_size_mm: float | None = None,
        extent: tuple[float, float, float, float] | None = None,
        slab_mm: float = 0.0,
        slab_mode: str = "max",
        interpolation: str = "linear",
    ) -> SliceImage:
        """Resample ``plane``; see :class:`SliceImage` for where each pixel is.

        Parameters
        ----------
        plane : the cutting plane (its point is the image's reference, not necessarily its centre).
        pixel_size_mm : square pixel edge; default the smallest voxel size.
        extent : (u_min, u_max, v_min, v_max) in mm around the plane point; default the whole
            section of the volume.
        slab_mm : slab thickness along the normal; 0 for a thin slice.
        slab_mode : ``"max"``, ``"mean"`` or ``"min"`` projection across the slab.
        interpolation : ``"nearest"``, ``"linear"`` or ``"cubic"``.
        """
        layout = self.layout_for(
            plane, pixel_size_mm=pixel_size_mm, extent=extent, slab_mm=slab_mm, slab_mode=slab_mode
        )
        self.configure(plane, layout, interpolation)
        pixels = np.array(self.output_pixels()[::-1], dtype=np.float32)
        return SliceImage(pixels, plane, layout)


def resample_plane(data: np.ndarray, voxel_size_mm, origin_mm, plane: Plane, **options) -> SliceImage:
    """One-off :meth:`PlaneSampler.sample` of ``data[z, y, x]`` (see there for ``options``)."""
    return PlaneSampler(data, voxel_size_mm, origin_mm).sample(plane, **options)


def downsample_for_display(
    data: np.ndarray, grid: VolumeGrid, max_size: int
) -> tuple[np.ndarray, VolumeGrid]:
    """Block means of ``data`` so that no edge exceeds ``max_size`` voxels (for volume rendering).

    Slices keep the full resolution; only the 3D view renders this. Returns the smaller array
    and its grid (voxel centres moved to the blocks' centres).
    """
    factor = max(1, int(np.ceil(max(data.shape) / max_size)))
    factors = tuple(min(factor, n) for n in data.shape)
    if factors == (1, 1, 1):
        return np.ascontiguousarray(data, dtype=np.float32), grid
    shape = tuple(n // f for n, f in zip(data.shape, factors, strict=True))
    total = np.zeros(shape, dtype=np.float32)
    fz, fy, fx = factors
    for dz in range(fz):
        for dy in range(fy):
            for dx in range(fx):
                total += data[dz::fz, dy::fy, dx::fx][: shape[0], : shape[1], : shape[2]]
    total /= fz * fy * fx
    voxel = tuple(v * f for v, f in zip(grid.voxel_size_mm, factors, strict=True))
    origin = tuple(
        o + (f - 1) / 2 * v for o, f, v in zip(grid.origin_mm, factors, grid.voxel_size_mm, strict=True)
    )
    return total, VolumeGrid(shape, voxel, origin)
