"""Edge guidance: smooth along the edges the FDK already shows, not across them.

An edge-preserving potential alone cannot keep a low-contrast face sharp: wherever the grey step
between neighbours is below δ it is smoothed like noise, and even above δ Huber's penalty falls
as an edge widens (a ramp of n steps over a contrast c costs δc − nδ²/2). On the demo at 720
projections this widened the die's and the mold's side faces from 1.4–1.8 voxels (FDK) to 4–6
voxels at the smoothing the data allow.

The guide is a field ξ = n · a over the volume: n the unit normal of the edges of the start image
(the FDK), from its Gaussian-derivative gradient ∇G (σ = :data:`GUIDE_SCALE` voxels), and a ∈ [0,
1] the confidence that an edge needs guiding there. It is the product of two smooth steps:

- that an edge is there at all: 0 where |∇G| is below :data:`GUIDE_THRESHOLD` times the
  gradient's noise level, 1 from twice that. A strong edge therefore guides a wider band than a
  faint one (where a Gaussian-blurred step's gradient exceeds the threshold at the demo's noise
  level: ±5 voxels around solder, ±2 around the die/mold face). Keeping only the crest of |∇G|
  (within 30–70 % of its maximum over 5 voxels) narrowed the bands but let the faint die faces
  blur again (demo, β = 40: 2.5 voxels instead of 1.2) and gained no PSNR, so it is not done.
  The noise level is the 20th percentile of |∇G| over the image divided by that percentile of
  the length of a 3D Gaussian vector with unit σ per component (1.003): in pure noise every
  percentile gives the same level, and the low one stays a noise measure as long as a fifth or
  more of the voxels lie away from edges (the median did not: in a small phantom it came out
  2.5× too high, and hid a faint face). In pure noise about 5 % of the voxels still count as
  edges, in random directions.
- that the potential cannot keep the edge sharp by itself: 1 up to a step of 3 δ, 0 from 6 δ
  (:data:`STEP_FADE`), the step being the one the filtered gradient implies, √(2π) σ |∇G|. A
  step many times δ lies in Huber's linear part, which keeps it sharp (the solder balls' faces
  are as sharp unguided); guiding it anyway leaves the pairs across it with 1 % of their
  smoothing, and the data's own ringing there comes through: bright rims on every ball and dark
  spots above them, the largest error of the first guided version (demo, 720 projections, β =
  40: PSNR 37.3 dB, against 40.8 with the fade; FDK 38.2). A fade from 6 to 12 δ gave the demo
  the same numbers but left a ringing band 2–3 voxels beside a 25 δ step in a small phantom
  (RMS error 0.036 against 0.031 with 3–6 δ, 0.027 unguided).

The penalty (:mod:`.penalty`) then scales the weight of each neighbour pair {j, k} with unit
direction d by 1 − γ · min(1, κ (ξ̄ · d)²), ξ̄ = (ξ_j + ξ_k) / 2: pairs that cross a trusted edge
(any direction with (n · d)² ≥ 1/κ) keep only 1 − γ of their weight, pairs along it all of it.
The weights are fixed before the solve, so the penalty stays convex and its curvature bound (the
separable surrogate) holds unchanged. Noise is still smoothed along every edge; across it the
data alone decide, which is why edges come out as sharp as in the unregularized solution.

On the demo at 720 projections and β = 40 the four measured faces come out 0.2–1.1 voxels wide
(FDK: 1.1–2.7, unguided: 0.2–4.6) with 3.5× and 6.8× FDK's SNR and a PSNR of 40.8 dB (unguided
40.9, FDK 38.2; tests/bench/RESULTS.md). The price: in the band around a faint edge the noise
is smoothed in two dimensions instead of three, so at equal β the SNR of the materials is lower
than unguided (die/mold 4.3 against 6.5), and the penalty costs about 3× as much per pass.
Guidance is therefore a choice (``--guide fdk``) for when sharp faces matter: measuring a face,
a crack's opening, a bond line's thickness. It is for full scans: the FDK of a sparse one is too
noisy to guide. On the stack package's quarter scan (180 projections, automatic knobs) it lowered
the PSNR from 40.6 to 39.8 dB and the die crack's CNR from 2.8 to 1.6, so it is not the default.

Reference: the directional total variation of Ehrhardt & Betcke, SIAM J. Imaging Sci. 9 (2016)
1084, which weights the gradient by a side image's edge directions in the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, stats

GUIDE_SCALE = 1.5       # σ (voxels) of the Gaussian-derivative filter that finds the edges
GUIDE_THRESHOLD = 2.0   # edges start at this many noise levels of |∇G|, trusted fully at twice it
GUIDE_STRENGTH = 0.99   # γ: a pair across a trusted edge keeps 1 − γ of its weight
GUIDE_CUT = 10.0        # κ: a pair crosses an edge when (n · d)² ≥ 1/κ (angle to it < 72°)
NOISE_PERCENTILE = 20.0  # the percentile of |∇G| that measures its noise level
STEP_FADE = (3.0, 6.0)  # guidance fades out over steps of this many δ (the potential keeps them)

GUIDES = ("none", "fdk")


@dataclass(frozen=True)
class EdgeGuide:
    """The guide field and how it was found (see the module doc)."""

    field: np.ndarray        # (3, nz, ny, nx) float32: edge normal (z, y, x) × confidence
    gradient_noise: float    # noise level of one component of ∇G (1/mm per voxel)
    edge_fraction: float     # fraction of voxels whose confidence exceeds one half
    edge_preservation: float  # the δ (1/mm) whose strong steps it leaves to the potential

    def crop(self, start, shape) -> EdgeGuide:
        """The guide of the block ``[start, start + shape)``."""
        block = tuple(slice(int(s), int(s) + int(n)) for s, n in zip(start, shape, strict=True))
        field = np.ascontiguousarray(self.field[(slice(None),) + block])
        return EdgeGuide(field, self.gradient_noise, _edge_fraction(field), self.edge_preservation)

    def to_dict(self) -> dict:
        return {"source": "fdk", "scale_voxels": GUIDE_SCALE, "threshold": GUIDE_THRESHOLD,
                "strength": GUIDE_STRENGTH, "cut": GUIDE_CUT, "step_fade_deltas": list(STEP_FADE),
                "edge_preservation": self.edge_preservation, "gradient_noise": self.gradient_noise,
                "edge_fraction": self.edge_fraction}


def _edge_fraction(field: np.ndarray) -> float:
    return float(np.mean(np.sum(field * field, axis=0) > 0.25)) if field.size else 0.0


def _smoothstep(r: np.ndarray) -> np.ndarray:
    r = np.clip(r, 0.0, 1.0)
    return r * r * (3.0 - 2.0 * r)


def edge_guide(image, edge_preservation: float, *, scale: float = GUIDE_SCALE,
               threshold: float = GUIDE_THRESHOLD) -> EdgeGuide:
    """The guide field of ``image`` (a start image such as the FDK, (nz, ny, nx), host array) for
    a penalty with edge preservation ``edge_preservation`` (δ, 1/mm)."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3:
        raise ValueError(f"an edge guide needs a 3D image, not shape {image.shape}")
    if not edge_preservation > 0:
        raise ValueError(f"an edge guide needs the penalty's δ > 0, not {edge_preservation}")
    gradient = np.stack([ndimage.gaussian_filter(image, scale, order=order, mode="nearest")
                         for order in ((1, 0, 0), (0, 1, 0), (0, 0, 1))])
    length = np.sqrt(np.sum(gradient * gradient, axis=0))
    # the same percentile of the length of a 3D standard Gaussian vector (a χ variable, 3 d.o.f.)
    noise = float(np.percentile(length, NOISE_PERCENTILE)) / float(stats.chi(3).ppf(NOISE_PERCENTILE / 100))
    if not noise > 0:  # a noiseless image: every non-zero gradient is an edge
        noise = float(length.max()) * 1e-6 or 1.0
    confidence = _smoothstep(length / (threshold * noise) - 1.0)
    # a step c blurred by the filter peaks at |∇G| = c / (√(2π) σ): strong steps are the potential's
    step = np.sqrt(2.0 * np.pi) * scale * length / edge_preservation
    first, full = STEP_FADE
    confidence *= 1.0 - _smoothstep((step - first) / (full - first))
    field = (gradient * (confidence / np.maximum(length, np.finfo(np.float32).tiny))).astype(np.float32)
    return EdgeGuide(field, noise, _edge_fraction(field), float(edge_preservation))
