"""GPU kernels of the matched projector pair: the same operator as :mod:`.cpu`, in CUDA via CuPy.

Same conventions: zero-bordered projections ``padded[p, 1 + row, 1 + column]``, float32
matrices (n, 3, 4), one clamping rule, bilinear weights and inverse-square depth weights. The
back-projector runs one thread per voxel and loops over the projections of a chunk (matrices in
shared memory); the forward projector runs one thread per (voxel, projection) pair and scatters
with atomicAdd, so its float32 sums may differ from the CPU's in the last bits.
"""

from __future__ import annotations

import functools

_SOURCE = r"""
extern "C" {

__device__ __forceinline__ void coords(const float* m, int ix, int iy, int iz,
                                       int rows_p, int cols_p,
                                       int* ir, int* ic, float* fr, float* fc, float* w) {
    float inv = 1.0f / (m[8] * ix + m[9] * iy + m[10] * iz + m[11]);
    float c = (m[0] * ix + m[1] * iy + m[2] * iz + m[3]) * inv + 1.0f;
    float r = (m[4] * ix + m[5] * iy + m[6] * iz + m[7]) * inv + 1.0f;
    c = fminf(fmaxf(c, 0.0f), (float)(cols_p - 2));
    r = fminf(fmaxf(r, 0.0f), (float)(rows_p - 2));
    *ic = (int)c; *ir = (int)r;
    *fc = c - *ic; *fr = r - *ir;
    *w = inv * inv;
}

__global__ void backproject(const float* __restrict__ padded, const float* __restrict__ mats,
                            float* vol, int n_proj, int rows_p, int cols_p,
                            int nz, int ny, int nx) {
    extern __shared__ float m_shared[];
    for (int k = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
         k < n_proj * 12; k += blockDim.x * blockDim.y * blockDim.z) {
        m_shared[k] = mats[k];
    }
    __syncthreads();
    int ix = blockIdx.x * blockDim.x + threadIdx.x;
    int iy = blockIdx.y * blockDim.y + threadIdx.y;
    int iz = blockIdx.z * blockDim.z + threadIdx.z;
    if (ix >= nx || iy >= ny || iz >= nz) return;
    float acc = 0.0f;
    size_t plane = (size_t)rows_p * cols_p;
    for (int p = 0; p < n_proj; ++p) {
        int ir, ic; float fr, fc, w;
        coords(m_shared + 12 * p, ix, iy, iz, rows_p, cols_p, &ir, &ic, &fr, &fc, &w);
        const float* img = padded + p * plane + (size_t)ir * cols_p + ic;
        float top = __ldg(img) + fc * (__ldg(img + 1) - __ldg(img));
        float bottom = __ldg(img + cols_p) + fc * (__ldg(img + cols_p + 1) - __ldg(img + cols_p));
        acc += (top + fr * (bottom - top)) * w;
    }
    vol[((size_t)iz * ny + iy) * nx + ix] += acc;
}

__global__ void splat(const float* __restrict__ vol, const float* __restrict__ mats,
                      float* padded, int n_proj, int rows_p, int cols_p,
                      int nz, int ny, int nx) {
    int ix = blockIdx.x * blockDim.x + threadIdx.x;
    int iy = blockIdx.y * blockDim.y + threadIdx.y;
    int iz = blockIdx.z;
    if (ix >= nx || iy >= ny) return;
    float value = vol[((size_t)iz * ny + iy) * nx + ix];
    if (value == 0.0f) return;
    size_t plane = (size_t)rows_p * cols_p;
    for (int p = 0; p < n_proj; ++p) {
        int ir, ic; float fr, fc, w;
        coords(mats + 12 * p, ix, iy, iz, rows_p, cols_p, &ir, &ic, &fr, &fc, &w);
        float* img = padded + p * plane + (size_t)ir * cols_p + ic;
        w *= value;
        atomicAdd(img, w * (1.0f - fr) * (1.0f - fc));
        atomicAdd(img + 1, w * (1.0f - fr) * fc);
        atomicAdd(img + cols_p, w * fr * (1.0f - fc));
        atomicAdd(img + cols_p + 1, w * fr * fc);
    }
}

}
"""

# Shared memory holds 12 floats per projection: 48 kB allows 1000 projections per launch.
MAX_PROJECTIONS_PER_LAUNCH = 1000


@functools.lru_cache(maxsize=1)
def _module():
    import cupy as cp

    return cp.RawModule(code=_SOURCE, options=("--use_fast_math",))


def backproject_padded(padded, mats, vol) -> None:
    """GPU twin of :func:`engine.projectors.cpu.backproject_padded` (CuPy arrays, in place)."""
    import cupy as cp

    kernel = _module().get_function("backproject")
    nz, ny, nx = vol.shape
    rows_p, cols_p = padded.shape[1:]
    block = (32, 4, 2)
    grid = ((nx + 31) // 32, (ny + 3) // 4, (nz + 1) // 2)
    for start in range(0, padded.shape[0], MAX_PROJECTIONS_PER_LAUNCH):
        stop = min(start + MAX_PROJECTIONS_PER_LAUNCH, padded.shape[0])
        chunk = cp.ascontiguousarray(padded[start:stop])
        m = cp.ascontiguousarray(mats[start:stop].reshape(-1))
        kernel(grid, block, (chunk, m, vol, cp.int32(stop - start), cp.int32(rows_p),
                             cp.int32(cols_p), cp.int32(nz), cp.int32(ny), cp.int32(nx)),
               shared_mem=4 * 12 * (stop - start))


def splat_padded(vol, mats, padded) -> None:
    """GPU twin of :func:`engine.projectors.cpu.splat_padded` (CuPy arrays, in place)."""
    import cupy as cp

    kernel = _module().get_function("splat")
    nz, ny, nx = vol.shape
    rows_p, cols_p = padded.shape[1:]
    block = (32, 8, 1)
    grid = ((nx + 31) // 32, (ny + 7) // 8, nz)
    # Few projections per launch keep each thread's loop short and the atomics spread out.
    step = 32
    for start in range(0, padded.shape[0], step):
        stop = min(start + step, padded.shape[0])
        m = cp.ascontiguousarray(mats[start:stop].reshape(-1))
        view = padded[start:stop]
        kernel(grid, block, (vol, m, view, cp.int32(stop - start), cp.int32(rows_p),
                             cp.int32(cols_p), cp.int32(nz), cp.int32(ny), cp.int32(nx)))
