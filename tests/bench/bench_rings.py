"""Ring removal on the demo scan: time of each method, alone and inside preprocessing.

The demo's line integrals (720 projections of 120 × 160, preprocessed without ring removal)
go through :func:`engine.preprocess.remove_stripes` by each method in one call, best of three
(one call on the whole stack: blocks of 12 columns, each read with 5 columns of halo either
side); then the whole default preprocessing, which calls it on chunks of 9 detector rows, is
timed with each method (best of two).

    PYTHONPATH=. python tests/bench/bench_rings.py
"""

from __future__ import annotations

from common import best_of, machine

from engine.io import load_scan
from engine.preprocess import PreprocessParams, preprocess, remove_stripes
from engine.preprocess.rings import RING_METHODS
from engine.simulate.package import ensure_demo_scan


def main() -> None:
    scan = load_scan(ensure_demo_scan())
    plain = PreprocessParams(center_of_rotation="none", ring_removal=False)
    lines = preprocess(scan, plain).projections
    print(f"demo: {lines.shape[0]} projections of {lines.shape[1]} × {lines.shape[2]}, {machine()}\n")
    print("| ring removal | remove_stripes alone (s) | whole preprocessing (s) |")
    print("|---|---|---|")
    print(f"| none | — | {best_of(lambda: preprocess(scan, plain), 2):.2f} |")
    for method in RING_METHODS:
        alone = best_of(lambda method=method: remove_stripes(lines, 11, method))
        params = PreprocessParams(center_of_rotation="none", ring_method=method)
        whole = best_of(lambda params=params: preprocess(scan, params), 2)
        print(f"| {method} | {alone:.2f} | {whole:.2f} |", flush=True)


if __name__ == "__main__":
    main()
