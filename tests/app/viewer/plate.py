"""A volume with a known tilted plate, and how to find the plate's line in a slice image."""

from __future__ import annotations

import numpy as np

from engine.geometry import VolumeGeometry
from engine.volume import Volume

VOXEL_ZYX = (0.03, 0.025, 0.02)
SHAPE_ZYX = (64, 64, 64)
CENTRE_ZYX = (0.2, -0.3, 0.15)
PLATE_NORMAL_XYZ = np.array([0.35, -0.25, 1.0]) / np.linalg.norm([0.35, -0.25, 1.0])
PLATE_POINT_XYZ = np.array([0.22, -0.33, 0.25])
PLATE_SIGMA_MM = 0.03


def tilted_plate() -> Volume:
    """A thin plate (Gaussian profile across it, peak 1/mm) through PLATE_POINT_XYZ, tilted."""
    geometry = VolumeGeometry(SHAPE_ZYX, VOXEL_ZYX, CENTRE_ZYX)
    z, y, x = np.meshgrid(*(geometry.axis_mm(a) for a in range(3)), indexing="ij")
    rel = np.stack([x, y, z], axis=-1) - PLATE_POINT_XYZ
    distance = rel @ PLATE_NORMAL_XYZ
    data = np.exp(-0.5 * (distance / PLATE_SIGMA_MM) ** 2).astype(np.float32)
    return Volume(data, geometry, {"test": "tilted plate"})


def plate_rows_truth(description: dict, columns: np.ndarray) -> np.ndarray:
    """Fractional rows where the plate's mid-plane crosses each column, from the slice's mapping."""
    p0 = np.array([description["top_left_pixel_centre_mm"][k] for k in "xyz"])
    col_step = np.array([description["column_step_mm"][k] for k in "xyz"])
    row_step = np.array([description["row_step_mm"][k] for k in "xyz"])
    n = PLATE_NORMAL_XYZ
    return (n @ (PLATE_POINT_XYZ - p0) - columns * (n @ col_step)) / (n @ row_step)


def measured_rows(pixels: np.ndarray, margin: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the plate's row: intensity centroid around the brightest row (columns where clear)."""
    columns, rows = [], []
    for column in range(pixels.shape[1]):
        profile = pixels[:, column]
        peak = int(np.argmax(profile))
        if profile[peak] < 0.5 or peak < margin or peak >= len(profile) - margin:
            continue
        window = profile[peak - 4 : peak + 5]
        weights = np.clip(window - 0.05, 0, None)
        columns.append(column)
        rows.append(peak - 4 + float(np.sum(weights * np.arange(9)) / np.sum(weights)))
    return np.array(columns), np.array(rows)


def well_inside(
    description: dict, columns: np.ndarray, rows: np.ndarray, geometry: VolumeGeometry
) -> np.ndarray:
    """Mask of (row, column) points at least 3 voxels inside the volume (no edge effects)."""
    p0 = np.array([description["top_left_pixel_centre_mm"][k] for k in "xyz"])
    col_step = np.array([description["column_step_mm"][k] for k in "xyz"])
    row_step = np.array([description["row_step_mm"][k] for k in "xyz"])
    world = p0 + columns[:, None] * col_step + rows[:, None] * row_step
    (z0, z1), (y0, y1), (x0, x1) = geometry.extent_mm()
    margin = 3 * max(geometry.voxel_size_mm)
    low, high = np.array([x0, y0, z0]) + margin, np.array([x1, y1, z1]) - margin
    return np.all((world > low) & (world < high), axis=1)
