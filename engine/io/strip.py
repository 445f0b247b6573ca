"""Writing a smoothing strip (the tuner's result) to a folder a person and a script can read.

``strip.png``   the middle slice of every preview side by side, each with its β and metrics, the
                suggested one framed: what an engineer looks at to pick β.
``beta_K.tif``  each preview ROI as a float32 volume (1/mm), K its position in the strip.
``strip.json``  the knobs, the metrics of every preview and the suggestion with its rule.
``recipe.json`` the recipe with the suggested knobs: ``fathom recon SCAN --recipe recipe.json``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..geometry import VolumeGeometry
from ..volume import Volume
from .atomic import atomic_output
from .volume_files import save_volume

_LABEL_HEIGHT = 58


def _montage(strip, scale: int) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    slices = [image[image.shape[0] // 2] for image in strip.images]
    low = min(float(np.percentile(s, 0.5)) for s in slices)
    high = max(float(np.percentile(s, 99.5)) for s in slices)
    span = high - low if high > low else 1.0
    ny, nx = slices[0].shape
    tile_w, tile_h = nx * scale, ny * scale
    gap = 6
    canvas = Image.new("RGB", (len(slices) * (tile_w + gap) + gap, tile_h + _LABEL_HEIGHT + 2 * gap),
                       (32, 34, 38))
    draw = ImageDraw.Draw(canvas)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 12)
    except OSError:
        font = ImageFont.load_default()
    for k, (image, metrics) in enumerate(zip(slices, strip.metrics, strict=True)):
        grey = np.clip((image - low) / span * 255, 0, 255).astype(np.uint8)[::-1]  # y up
        tile = Image.fromarray(grey).resize((tile_w, tile_h), Image.NEAREST).convert("RGB")
        x0 = gap + k * (tile_w + gap)
        canvas.paste(tile, (x0, gap))
        if k == strip.suggested:
            draw.rectangle([x0 - 3, gap - 3, x0 + tile_w + 2, gap + tile_h + 2],
                           outline=(255, 196, 0), width=3)
        lines = [f"β = {strip.smoothings[k]:.3g}" + ("  (suggested)" if k == strip.suggested else ""),
                 f"SNR {metrics['snr']:.2f}   edge {metrics['edge_width']:.2f} vox",
                 f"residual {metrics['discrepancy']:.3f}"]
        for i, line in enumerate(lines):
            draw.text((x0 + 2, gap + tile_h + 6 + 16 * i), line, fill=(230, 230, 230), font=font)
    return np.asarray(canvas)


def save_strip(folder: str | Path, strip, roi: VolumeGeometry, recipe: dict) -> Path:
    """Write ``strip`` (a :class:`engine.iterative.SmoothingStrip` of the preview ``roi``) and
    ``recipe`` into ``folder`` (created if missing); returns the folder."""
    from PIL import Image

    from . import save_json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for k, image in enumerate(strip.images):
        save_volume(Volume(image, roi, {"smoothing": strip.smoothings[k],
                                        "edge_preservation": strip.edge_preservation}),
                    folder / f"beta_{k}.tif")
    scale = max(1, 256 // max(roi.shape[1:]))
    with atomic_output(folder / "strip.png") as tmp:
        Image.fromarray(_montage(strip, scale)).save(tmp, format="PNG")
    save_json({**strip.summary(), "roi": roi.to_dict(),
               "files": [f"beta_{k}.tif" for k in range(len(strip.images))]}, folder / "strip.json")
    save_json(recipe, folder / "recipe.json")
    return folder
