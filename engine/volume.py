"""A reconstructed volume: voxel values with their place in the world and how they were made."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .geometry import VolumeGeometry


@dataclass(eq=False)
class Volume:
    """Attenuation values ``data[z, y, x]`` (1/mm, float32) on ``geometry``.

    ``recipe`` holds every parameter that produced the volume (method, filter, preprocessing,
    geometry corrections, engine version); writers store it next to the data.
    """

    data: np.ndarray
    geometry: VolumeGeometry
    recipe: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if tuple(self.data.shape) != tuple(self.geometry.shape):
            raise ValueError(
                f"volume data {self.data.shape} does not match its geometry {self.geometry.shape}"
            )
