"""What leaves the viewer: slices with their scale, the cutting plane, sweeps through the volume.

* :func:`write_slice_tiff`: a 16-bit greyscale TIFF of a (possibly oblique, possibly slab)
  slice. The pixel size is in the TIFF resolution tags (pixels per centimetre) so that ImageJ,
  Avizo and the like show a calibrated image, and a JSON description (in the ImageDescription
  tag and a ``.json`` sidecar) gives the value scale back to 1/mm, the plane and where each pixel
  lies in the sample.
* :func:`write_slice_png`: the slice as seen (window/level, colour map) with a scale bar.
* :func:`write_plane_json`: the plane for mechanical cross-sectioning (``fathom-plane/1``).
* :func:`sweep_planes` and :func:`write_movie`: a movie through the volume along a normal.

Files are written atomically (:mod:`engine.io.atomic`). No Qt here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from engine.io import save_json
from engine.io.atomic import atomic_output

from .colormaps import DEFAULT_COLORMAP, to_rgb8
from .fonts import UNICODE_FONT
from .measure import format_length, nice_length
from .planes import Plane, box_corners, plane_to_dict
from .reslice import SliceImage, VolumeGrid

SLICE_FORMAT = "fathom-slice/1"
UINT16_MAX = 65535


def uint16_scale(pixels: np.ndarray, value_range: tuple[float, float] | None = None) -> tuple[float, float]:
    """(offset, scale) so that value = offset + scale · stored over ``value_range``.

    The default range is the slice's own minimum to maximum, so nothing is clipped.
    """
    if value_range is None:
        finite = pixels[np.isfinite(pixels)]
        value_range = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    low, high = (float(v) for v in value_range)
    if not high > low:
        high = low + 1.0
    return low, (high - low) / UINT16_MAX


def slice_description(
    image: SliceImage, *, offset: float, scale: float, volume_name: str = "", extra: dict | None = None
) -> dict:
    """The JSON that travels with an exported slice (ImageDescription and sidecar)."""
    content = {
        "format": SLICE_FORMAT,
        "volume": volume_name,
        "units": "attenuation in 1/mm; lengths in mm",
        "value_from_stored": {
            "offset": offset,
            "scale": scale,
            "formula": "value_1_per_mm = offset + scale * stored_uint16",
        },
        **image.describe(),
        "plane": plane_to_dict(image.plane, volume_name=volume_name),
    }
    if extra:
        content.update(extra)
    return content


def write_slice_tiff(
    image: SliceImage,
    path: str | Path,
    *,
    value_range: tuple[float, float] | None = None,
    volume_name: str = "",
    extra: dict | None = None,
) -> tuple[Path, Path]:
    """Write ``image`` as a 16-bit TIFF with its scale, and its ``.json`` sidecar.

    Parameters
    ----------
    image : the slice (row 0 at the top, as on screen).
    path : the ``.tif``/``.tiff`` to write; the sidecar is the same name with ``.json``.
    value_range : values (1/mm) mapped to 0 and 65535; default the slice's minimum and maximum.
        Values outside are clipped.
    volume_name, extra : recorded in the description.

    Returns
    -------
    (TIFF path, sidecar path).
    """
    path = Path(path).expanduser()
    if path.suffix.lower() not in (".tif", ".tiff"):
        raise ValueError(f"{path.name}: a 16-bit slice is written as .tif or .tiff; change the extension")
    offset, scale = uint16_scale(image.pixels, value_range)
    stored = np.clip(np.rint((image.pixels - offset) / scale), 0, UINT16_MAX)
    stored = np.nan_to_num(stored, nan=0).astype(np.uint16)
    description = slice_description(image, offset=offset, scale=scale, volume_name=volume_name, extra=extra)
    per_cm = 10.0 / image.pixel_size_mm
    with atomic_output(path) as temporary:
        tifffile.imwrite(
            temporary,
            stored,
            photometric="minisblack",
            resolution=(per_cm, per_cm),
            resolutionunit="CENTIMETER",
            description=json.dumps(description),
            metadata=None,
        )
    sidecar = save_json(description, path.with_suffix(".json"))
    return path, sidecar


def read_slice_tiff(path: str | Path) -> tuple[np.ndarray, dict]:
    """Values (1/mm, float64) and description of a slice written by :func:`write_slice_tiff`."""
    with tifffile.TiffFile(Path(path)) as tif:
        page = tif.pages[0]
        stored = page.asarray()
        description = json.loads(page.description)
    scale = description["value_from_stored"]
    return scale["offset"] + scale["scale"] * stored.astype(np.float64), description


def _font(size: int):
    try:
        if UNICODE_FONT is not None:
            return ImageFont.truetype(str(UNICODE_FONT), size)
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # an old Pillow without FreeType: the bitmap font
        return ImageFont.load_default()


def draw_scale_bar(rgb: np.ndarray, pixel_size_mm: float, fraction: float = 0.2) -> np.ndarray:
    """A copy of ``rgb`` (rows, columns, 3) with a labelled scale bar in the lower left corner."""
    rows, columns = rgb.shape[:2]
    length_mm = nice_length(columns * pixel_size_mm * fraction)
    if length_mm <= 0:
        return rgb.copy()
    bar = max(1, int(round(length_mm / pixel_size_mm)))
    picture = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    draw = ImageDraw.Draw(picture)
    size = max(10, min(rows, columns) // 25)
    font = _font(size)
    margin = max(4, size // 2)
    thickness = max(2, size // 4)
    x0, y1 = margin, rows - margin
    y0 = y1 - thickness
    label = format_length(length_mm)
    draw.rectangle([x0 - 1, y0 - 1, x0 + bar, y1 + 1], fill=(0, 0, 0))
    draw.rectangle([x0, y0, x0 + bar - 1, y1], fill=(255, 255, 255))
    text_y = y0 - size - margin // 2
    draw.text((x0, text_y), label, font=font, fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
    return np.asarray(picture)


def write_slice_png(
    image: SliceImage,
    path: str | Path,
    *,
    window: float,
    level: float,
    colormap: str = DEFAULT_COLORMAP,
    scale_bar: bool = True,
    min_width: int = 800,
) -> Path:
    """Write the slice as the viewer shows it (window/level, colour map) with a scale bar.

    A slice narrower than ``min_width`` pixels is enlarged by a whole factor (each pixel a
    square block, nothing interpolated) so that the scale bar's label stays readable; the PNG's
    text chunks record the resulting pixel size and the plane (``fathom-slice/1`` JSON).
    """
    path = Path(path).expanduser()
    rgb = to_rgb8(image.pixels, window, level, colormap)
    factor = max(1, int(np.ceil(min_width / max(rgb.shape[1], 1)))) if min_width else 1
    if factor > 1:
        rgb = np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)
    pixel_mm = image.pixel_size_mm / factor
    if scale_bar:
        rgb = draw_scale_bar(rgb, pixel_mm)
    info = PngInfo()
    info.add_text(
        "fathom",
        json.dumps({"format": SLICE_FORMAT, "pixel_size_mm": pixel_mm, "plane": plane_to_dict(image.plane)}),
    )
    with atomic_output(path) as temporary:
        Image.fromarray(rgb).save(temporary, format="PNG", pnginfo=info, dpi=(25.4 / pixel_mm,) * 2)
    return path


def write_plane_json(
    plane: Plane, path: str | Path, *, volume_name: str = "", extra: dict | None = None
) -> Path:
    """Write the cutting plane (point, normal, angles; ``fathom-plane/1``) for the lab."""
    return save_json(plane_to_dict(plane, volume_name=volume_name, extra=extra), path)


def sweep_planes(plane: Plane, grid: VolumeGrid, count: int) -> list[Plane]:
    """``count`` planes parallel to ``plane``, evenly from one side of the volume to the other."""
    if count < 1:
        raise ValueError("a sweep needs at least one frame")
    low, high = grid.bounds()
    distances = plane.distance(box_corners(low, high))
    step = float(min(grid.voxel_size_mm)) / 2
    first, last = distances.min() + step, distances.max() - step
    return [plane.translated(d) for d in np.linspace(first, last, count)]


def write_movie(frames: Iterable[np.ndarray], path: str | Path, *, fps: float = 10.0) -> Path:
    """Write RGB (rows, columns, 3) uint8 frames as an animated GIF (or numbered PNGs for a folder).

    A path ending in ``.gif`` gets one looping GIF; any other path is taken as a folder that
    receives ``frame_0000.png``, ``frame_0001.png``, ….
    """
    path = Path(path).expanduser()
    if path.suffix.lower() == ".gif":
        pictures = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
        if not pictures:
            raise ValueError("a movie needs at least one frame")
        with atomic_output(path) as temporary:
            pictures[0].save(
                temporary,
                format="GIF",
                save_all=True,
                append_images=pictures[1:],
                duration=int(round(1000 / fps)),
                loop=0,
            )
        return path
    path.mkdir(parents=True, exist_ok=True)
    for index, frame in enumerate(frames):
        with atomic_output(path / f"frame_{index:04d}.png") as temporary:
            Image.fromarray(np.asarray(frame, dtype=np.uint8)).save(temporary, format="PNG")
    return path
