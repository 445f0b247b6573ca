"""Preprocessing: from a raw scan to line integrals ready for reconstruction.

Each step is a plain function on arrays (usable alone in scripts) and :func:`preprocess` chains
them on a :class:`~engine.scan.Scan`, in bounded memory, with progress and cancellation, driven
by one parameter declaration, :class:`PreprocessParams`:

* ``normalize``: flat/dark normalization (averaged or interpolated flats) and ``minus_log``;
* ``outliers``: static hot/dead pixels and zingers;
* ``rings``: stripe removal in sinograms (Vo's sorting method);
* ``beam_hardening``: polynomial linearization;
* ``center``: automatic centre of rotation, as a pixel offset convertible to the geometry's mm.
"""

from .beam_hardening import check_beam_hardening, linearize_beam_hardening
from .center import (
    CenterOfRotation,
    check_center_finding,
    find_center_of_rotation,
    offset_px_to_mm,
)
from .normalize import (
    FlatField,
    average_frames,
    flat_dark_normalize,
    minus_log,
    prepare_flat_field,
)
from .outliers import find_static_defects, remove_outliers
from .pipeline import PreprocessParams, parse_center_of_rotation, preprocess
from .rings import remove_stripes

__all__ = [
    "CenterOfRotation",
    "FlatField",
    "PreprocessParams",
    "average_frames",
    "check_beam_hardening",
    "check_center_finding",
    "find_center_of_rotation",
    "find_static_defects",
    "flat_dark_normalize",
    "linearize_beam_hardening",
    "minus_log",
    "offset_px_to_mm",
    "parse_center_of_rotation",
    "prepare_flat_field",
    "preprocess",
    "remove_outliers",
    "remove_stripes",
]
