"""Where to find a TrueType font with wide Unicode coverage (µ, °, σ and names in any script).

VTK's built-in Arial and Pillow's default font cover Latin-1 at best; labels such as "500 µm"
need more. The first font found here is used by the views (VTK) and the PNG export (Pillow);
None means: fall back to the built-in fonts.
"""

from __future__ import annotations

from pathlib import Path

CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
    Path("/Library/Fonts/Arial Unicode.ttf"),
    Path("/System/Library/Fonts/Supplemental/Arial Unicode.ttf"),
    Path("C:/Windows/Fonts/arial.ttf"),
)

UNICODE_FONT: Path | None = next((path for path in CANDIDATES if path.is_file()), None)
