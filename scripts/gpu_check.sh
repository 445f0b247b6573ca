#!/usr/bin/env bash
# Everything a lent GPU machine should verify, in one call (it has CuPy, Numba, NumPy,
# scikit-image and pytest but no PySide6/VTK, so only the engine runs there):
#   bash scripts/gpu_check.sh            # GPU tests, then the GPU benchmarks
# Copy the tables it prints into tests/bench/RESULTS.md with the machine's name.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=.
python -c "from engine.backend import gpu_status; ok, why = gpu_status(); print('GPU:', ok, why); raise SystemExit(0 if ok else 1)"
python -m pytest -q -p no:cacheprovider tests/engine -m gpu
cd tests/bench
export PYTHONPATH=../..:.
python -u bench_projectors.py --size 512 --projections 360   # back-projection GUPS (target ≥ 300 on an H100)
python -u bench_fdk.py                                        # 1024³ from 1600 × 1024² (target ≤ 8 s)
python -u bench_iterative.py                                  # preview (≤ 0.5 s) and 512³ from 720 (≤ 60 s)
