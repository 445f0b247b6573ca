"""Cutting planes in the sample frame: how they are made, moved, described and written down.

A :class:`Plane` is a point and an orthonormal frame (u, v, normal) in world millimetres. World
vectors are (x, y, z) with z up (the rotation axis), as in :mod:`engine.geometry`; only volume
*array* indices and the tuples of :class:`~engine.geometry.VolumeGeometry` are ordered (z, y, x).
The in-plane axes say how a slice is shown and exported: u runs to the right of the image, v up,
and u × v = normal points towards the viewer, so a slice is never mirrored. Unless told
otherwise, v is the world's up (+z) projected into the plane, so vertical cuts keep z up.

Everything here is plain NumPy: the widgets, the export and the tests share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PLANE_FORMAT = "fathom-plane/1"

#: The three orthogonal views: (normal, up hint). Each is seen from the side its normal points
#: to: axial from above (x right, y up), coronal from the front, -y (x right, z up), sagittal
#: from +x (y right, z up).
ORTHOGONAL = {
    "axial": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
    "coronal": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),
    "sagittal": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
}

_PARALLEL_TOLERANCE = 1e-6


def _vector(value, what: str) -> np.ndarray:
    vec = np.asarray(value, dtype=np.float64).reshape(-1)
    if vec.shape != (3,) or not np.all(np.isfinite(vec)):
        raise ValueError(f"{what} must be three finite numbers (x, y, z), got {value!r}")
    return vec


def _unit(value, what: str) -> np.ndarray:
    vec = _vector(value, what)
    norm = np.linalg.norm(vec)
    if norm < 1e-12:
        raise ValueError(f"{what} has zero length: give a direction such as (0, 0, 1)")
    return vec / norm


@dataclass(frozen=True, eq=False)
class Plane:
    """A cutting plane: ``point`` on it and the right-handed frame ``u``, ``v``, ``normal``.

    All four are float64 (x, y, z) arrays in mm (the three axes unit length). Build planes with
    :func:`plane_from_normal`, :func:`plane_from_points`, :func:`plane_through_line`,
    :func:`plane_from_camera` or :func:`orthogonal_plane`; those keep the frame orthonormal.
    """

    point: np.ndarray
    u: np.ndarray
    v: np.ndarray
    normal: np.ndarray

    def to_world(self, u_mm, v_mm, w_mm=0.0) -> np.ndarray:
        """World points (..., 3) of in-plane coordinates (and a distance ``w_mm`` along the normal)."""
        u_mm, v_mm, w_mm = (np.asarray(a, dtype=np.float64)[..., None] for a in (u_mm, v_mm, w_mm))
        return self.point + u_mm * self.u + v_mm * self.v + w_mm * self.normal

    def to_plane(self, points) -> np.ndarray:
        """(..., 3) world points → (..., 3) plane coordinates (u, v, signed distance along normal)."""
        rel = np.asarray(points, dtype=np.float64) - self.point
        return np.stack([rel @ self.u, rel @ self.v, rel @ self.normal], axis=-1)

    def distance(self, points) -> np.ndarray:
        """Signed distance (mm) of world points from the plane, positive on the normal's side."""
        return (np.asarray(points, dtype=np.float64) - self.point) @ self.normal

    def moved_to(self, point) -> Plane:
        """The same orientation through ``point``."""
        return Plane(_vector(point, "point"), self.u, self.v, self.normal)

    def translated(self, distance_mm: float) -> Plane:
        """Moved by ``distance_mm`` along the normal."""
        return self.moved_to(self.point + float(distance_mm) * self.normal)

    def rotated(self, axis, angle_rad: float, center=None) -> Plane:
        """Rotated by ``angle_rad`` about ``axis`` (a world direction) through ``center``."""
        rot = rotation_matrix(axis, angle_rad)
        center = self.point if center is None else _vector(center, "centre")
        point = center + rot @ (self.point - center)
        return Plane(point, rot @ self.u, rot @ self.v, rot @ self.normal)

    def flipped(self) -> Plane:
        """Seen from the other side: normal and u reversed, v kept (so the image is not mirrored)."""
        return Plane(self.point, -self.u, self.v, -self.normal)

    def same_as(self, other: Plane, tolerance: float = 1e-9) -> bool:
        return all(
            np.allclose(a, b, atol=tolerance)
            for a, b in zip(
                (self.point, self.u, self.v, self.normal),
                (other.point, other.u, other.v, other.normal),
                strict=True,
            )
        )


def rotation_matrix(axis, angle_rad: float) -> np.ndarray:
    """3×3 rotation about the unit direction of ``axis`` by ``angle_rad`` (right hand, Rodrigues)."""
    k = _unit(axis, "rotation axis")
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle_rad) * cross + (1 - np.cos(angle_rad)) * (cross @ cross)


def plane_from_normal(point, normal, up=None) -> Plane:
    """The plane through ``point`` (x, y, z mm) with unit normal along ``normal``.

    The image's up direction v is ``up`` (default world +z) projected into the plane; when the
    plane is (nearly) perpendicular to it, +y is used instead (so an axial slice has y up).
    u = v × normal runs to the right.
    """
    point = _vector(point, "plane point")
    normal = _unit(normal, "plane normal")
    hints = [np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0])]
    if up is not None:
        hints.insert(0, _unit(up, "up direction"))
    for hint in hints:
        v = hint - (hint @ normal) * normal
        if np.linalg.norm(v) > 1e-3:
            break
    v = v / np.linalg.norm(v)
    u = np.cross(v, normal)
    return Plane(point, u / np.linalg.norm(u), v, normal)


def plane_from_points(p1, p2, p3, up=None) -> Plane:
    """The plane through three picked points (x, y, z mm), centred on their centroid.

    The normal follows the right hand over p1 → p2 → p3 (counter-clockwise seen from its tip).
    """
    p1, p2, p3 = (_vector(p, f"point {i}") for i, p in enumerate((p1, p2, p3), start=1))
    normal = np.cross(p2 - p1, p3 - p1)
    scale = max(np.linalg.norm(p2 - p1), np.linalg.norm(p3 - p1), 1e-12) ** 2
    if np.linalg.norm(normal) <= _PARALLEL_TOLERANCE * scale:
        raise ValueError(
            "the three points lie on one line (or coincide): pick three points that span a plane"
        )
    return plane_from_normal((p1 + p2 + p3) / 3, normal, up)


def plane_through_line(p1, p2, view_normal) -> Plane:
    """The plane that contains the line p1–p2 and is perpendicular to the view it was drawn in.

    This is the usual cut "along this row of balls" drawn in a top view: the plane holds the
    line and ``view_normal`` (the normal of the view), centred on the line's midpoint.
    """
    p1, p2 = _vector(p1, "first point"), _vector(p2, "second point")
    view_normal = _unit(view_normal, "view normal")
    along = p2 - p1
    if np.linalg.norm(along) < 1e-9:
        raise ValueError("the two points coincide: drag a line to cut along")
    normal = np.cross(along, view_normal)
    if np.linalg.norm(normal) <= _PARALLEL_TOLERANCE * np.linalg.norm(along):
        raise ValueError("the line runs along the view direction: draw it within the view")
    return plane_from_normal((p1 + p2) / 2, normal, view_normal)


def plane_from_camera(position, focal_point, view_up) -> Plane:
    """The plane through the camera's focal point, facing the camera, with the camera's up.

    The slice then shows what the camera looks at, the same way round (not mirrored).
    """
    position, focal_point = _vector(position, "camera position"), _vector(focal_point, "focal point")
    toward_viewer = position - focal_point
    if np.linalg.norm(toward_viewer) < 1e-12:
        raise ValueError("the camera sits on its focal point: reset the 3D view")
    return plane_from_normal(focal_point, toward_viewer, view_up)


def orthogonal_plane(kind: str, point) -> Plane:
    """``"axial"``, ``"coronal"`` or ``"sagittal"`` plane through ``point`` (see :data:`ORTHOGONAL`)."""
    if kind not in ORTHOGONAL:
        raise ValueError(f"unknown view {kind!r}: use one of {', '.join(ORTHOGONAL)}")
    normal, up = ORTHOGONAL[kind]
    return plane_from_normal(point, normal, up)


# -- where a plane meets the volume ---------------------------------------------------------------
def box_corners(low, high) -> np.ndarray:
    """The 8 corners (8, 3) of the axis-aligned box from ``low`` to ``high`` (x, y, z)."""
    low, high = _vector(low, "box low corner"), _vector(high, "box high corner")
    pick = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], dtype=bool)
    return np.where(pick, high, low)


_BOX_EDGES = [(a, b) for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]


def section_polygon(plane: Plane, low, high) -> np.ndarray:
    """Plane coordinates (n, 2) of the plane's section through the box (empty when it misses).

    Points are in order around the section's outline.
    """
    corners = box_corners(low, high)
    dist = plane.distance(corners)
    points = [corners[i] for i in range(8) if abs(dist[i]) < 1e-12]
    for a, b in _BOX_EDGES:
        if dist[a] * dist[b] < 0:
            t = dist[a] / (dist[a] - dist[b])
            points.append(corners[a] + t * (corners[b] - corners[a]))
    if not points:
        return np.zeros((0, 2))
    uv = plane.to_plane(np.array(points))[:, :2]
    centre = uv.mean(axis=0)
    order = np.argsort(np.arctan2(uv[:, 1] - centre[1], uv[:, 0] - centre[0]))
    return uv[order]


def section_extent(plane: Plane, low, high) -> tuple[float, float, float, float] | None:
    """(u_min, u_max, v_min, v_max) in mm of the plane's section through the box, or None."""
    polygon = section_polygon(plane, low, high)
    if len(polygon) < 3:
        return None
    return (
        float(polygon[:, 0].min()),
        float(polygon[:, 0].max()),
        float(polygon[:, 1].min()),
        float(polygon[:, 1].max()),
    )


def intersection_line(view: Plane, other: Plane) -> tuple[np.ndarray, np.ndarray] | None:
    """Where ``other`` crosses ``view``, in ``view``'s plane coordinates: (point (2,), direction (2,)).

    None when the planes are parallel. The direction is a unit vector.
    """
    direction = np.cross(view.normal, other.normal)
    if np.linalg.norm(direction) < 1e-9:
        return None
    direction /= np.linalg.norm(direction)
    # Closest point to view.point on both planes: solve in the view's (u, v) coordinates.
    d2 = np.array([direction @ view.u, direction @ view.v])
    perp = np.array([-d2[1], d2[0]])  # in-plane, perpendicular to the line
    perp_world = perp[0] * view.u + perp[1] * view.v
    denominator = perp_world @ other.normal
    t = (other.point - view.point) @ other.normal / denominator
    point = t * perp
    return point, d2 / np.linalg.norm(d2)


# -- describing a plane ---------------------------------------------------------------------------
def plane_angles(plane: Plane) -> dict[str, float]:
    """Angles (degrees) that place the cut on a cross-sectioning jig.

    * ``normal_azimuth_deg``: direction of the normal's horizontal part, from +x towards +y.
    * ``normal_elevation_deg``: angle of the normal above the horizontal (x, y) plane; 0 for a
      vertical cut, ±90 for a horizontal one.
    * ``tilt_from_vertical_deg``: how far the cut leans from vertical (|elevation|).
    * ``trace_azimuth_deg``: direction, in [0, 180), of the line where the cut meets a horizontal
      plane (the line to grind along, seen from above), from +x towards +y; undefined (NaN) for a
      horizontal cut.
    """
    nx, ny, nz = plane.normal
    horizontal = float(np.hypot(nx, ny))
    elevation = float(np.degrees(np.arctan2(nz, horizontal)))
    if horizontal < 1e-9:
        azimuth = trace = float("nan")
    else:
        azimuth = float(np.degrees(np.arctan2(ny, nx)))
        trace = float((azimuth + 90.0) % 180.0)
    return {
        "normal_azimuth_deg": azimuth,
        "normal_elevation_deg": elevation,
        "tilt_from_vertical_deg": abs(elevation),
        "trace_azimuth_deg": trace,
    }


def _xyz(vec) -> dict[str, float]:
    return {"x": float(vec[0]), "y": float(vec[1]), "z": float(vec[2])}


def plane_to_dict(plane: Plane, *, volume_name: str = "", extra: dict | None = None) -> dict:
    """The plane as the JSON object handed to mechanical cross-sectioning (``fathom-plane/1``)."""
    angles = plane_angles(plane)
    content = {
        "format": PLANE_FORMAT,
        "frame": "sample frame of the volume, millimetres: x and y horizontal, z up (the rotation "
        "axis), right-handed; the plane holds point_mm and is perpendicular to normal",
        "volume": volume_name,
        "point_mm": _xyz(plane.point),
        "normal": _xyz(plane.normal),
        "offset_mm": float(plane.point @ plane.normal),
        "image_right": _xyz(plane.u),
        "image_up": _xyz(plane.v),
        "angles_deg": {k.removesuffix("_deg"): (None if np.isnan(a) else a) for k, a in angles.items()},
        "angles_help": {
            "normal_azimuth": "direction of the normal's horizontal part, from +x towards +y",
            "normal_elevation": "angle of the normal above the horizontal plane (0: vertical cut)",
            "tilt_from_vertical": "how far the cut leans from vertical",
            "trace_azimuth": "direction of the cut's line in a top view, from +x towards +y, 0-180",
        },
    }
    if extra:
        content.update(extra)
    return content


def plane_from_dict(content: dict) -> Plane:
    """Inverse of :func:`plane_to_dict` (point, normal and the image axes)."""
    try:
        point = [content["point_mm"][k] for k in "xyz"]
        normal = [content["normal"][k] for k in "xyz"]
        up = [content["image_up"][k] for k in "xyz"] if "image_up" in content else None
    except (KeyError, TypeError):
        raise ValueError(
            "a plane needs point_mm and normal as {x, y, z} objects (format fathom-plane/1)"
        ) from None
    return plane_from_normal(point, normal, up)
