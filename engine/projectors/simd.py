"""The column projectors' SIMD kernels, written as Numba intrinsics in LLVM IR.

The column kernels (:mod:`.cpu`) walk 16 voxel columns at once through their detector
*profiles*, stored interleaved (row after row, one float per lane). Two kinds of work are here.

*Transposes.* The profiles are made from detector columns, which are contiguous along rows:
going from one layout to the other is a transpose. Written as Numba loops it becomes one strided
scalar store (or load) per value and took about half of the kernels' time; LLVM, which Numba
drives, does not turn those loops into shuffles by itself. Here eight lanes × eight rows go
through registers instead: eight vector loads, the blend with the column weights, an 8 × 8
transpose in three shuffle stages (which LLVM lowers to unpack / shuffle / lane-permute
instructions on AVX2), eight vector stores. Measured on the 2-core EPYC VM: 2.6-3× faster
profile building, 1.4-2.5× faster spreading.

*Walk steps.* One slice of a walk: the 16 lanes' linear interpolation between profile rows
(back-projection) or its transpose (splat). As a Numba loop over the lanes it vectorized, but
LLVM guarded every slice with run-time overlap checks between the arrays it reads and writes,
and ran the two-iteration vector loop with its set-up and remainder code: about 130
instructions a slice where these take about 80 (measured on 256³ × 64: the
back-projection kernel 1.3× faster, the splat 1.2×).

Every kernel takes flat float32 arrays and offsets; the caller guarantees that every access lies
inside them (the column arrays carry zero slack rows for that, see :data:`.cpu.ROW_SLACK`).
LLVM lowers the 8-wide vectors to whatever the CPU has (two SSE registers without AVX).

Numba's on-disk cache of the kernels that inline these is keyed on :mod:`.cpu`'s source only:
after editing this file, delete ``engine/projectors/__pycache__``.
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.core.errors import TypingError
from numba.extending import intrinsic

BLOCK = 8  # lanes and rows per transposed block (one AVX2 register of float32)
INTERLEAVE = 16  # floats from one profile row to the next (the column kernels' LANES)

_F8 = ir.VectorType(ir.FloatType(), BLOCK)
_I64 = ir.IntType(64)
_I32 = ir.IntType(32)
_FAST = ("fast",)
# The 8 × 8 transpose: interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.
_STAGES = (
    ([0, 8, 1, 9, 4, 12, 5, 13], [2, 10, 3, 11, 6, 14, 7, 15]),
    ([0, 1, 8, 9, 4, 5, 12, 13], [2, 3, 10, 11, 6, 7, 14, 15]),
    ([0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]),
)


def _mask(indices):
    return ir.Constant(ir.VectorType(_I32, BLOCK), indices)


def _transpose(builder, rows):
    """Eight <8 x float> values → their transpose."""
    lo, hi = _STAGES[0]
    t = []
    for i in range(0, 8, 2):
        t += [builder.shuffle_vector(rows[i], rows[i + 1], _mask(lo)),
              builder.shuffle_vector(rows[i], rows[i + 1], _mask(hi))]
    lo, hi = _STAGES[1]
    u = []
    for a, b in ((0, 2), (4, 6)):  # u[c], u[c + 4]: columns c and c + 4 of rows 0-3, of rows 4-7
        u += [builder.shuffle_vector(t[a], t[b], _mask(lo)), builder.shuffle_vector(t[a], t[b], _mask(hi)),
              builder.shuffle_vector(t[a + 1], t[b + 1], _mask(lo)),
              builder.shuffle_vector(t[a + 1], t[b + 1], _mask(hi))]
    lo, hi = _STAGES[2]
    out = [None] * 8
    for c in range(4):
        out[c] = builder.shuffle_vector(u[c], u[c + 4], _mask(lo))
        out[c + 4] = builder.shuffle_vector(u[c], u[c + 4], _mask(hi))
    return out


def _vector_at(builder, base, offset):
    return builder.bitcast(builder.gep(base, [offset]), _F8.as_pointer())


def _broadcast(builder, value):
    v = builder.insert_element(ir.Constant(_F8, None), value, ir.Constant(_I32, 0))
    return builder.shuffle_vector(v, v, _mask([0] * BLOCK))


def _add(builder, x, y):
    return builder.fadd(x, y, flags=_FAST)


def _sub(builder, x, y):
    return builder.fsub(x, y, flags=_FAST)


def _mul(builder, x, y):
    return builder.fmul(x, y, flags=_FAST)


def _pointer(builder, base, at, k):
    """The <8 x float> at ``base[at + k]`` (``at`` an int64 value, ``k`` a constant)."""
    return _vector_at(builder, base, builder.add(at, ir.Constant(_I64, k)))


_ARGS = ("profile", "profile_at", "detector", "detector_at", "stride", "cols", "k0", "weights", "wl_at",
         "wr_at", "blocks")
_ARRAYS = {"profile": types.float32, "detector": types.float32, "cols": types.int32, "weights": types.float32}


def _signature(name, arg_types, names=_ARGS, arrays=_ARRAYS, reals=()):
    """void(arg_types), once they are checked: the arrays 1-D of their dtype, the ``reals``
    float32, the rest integers."""
    for arg, ty in zip(names, arg_types, strict=True):
        want = arrays.get(arg)
        if arg in reals:
            if ty != types.float32:
                raise TypingError(f"{name}: {arg} must be a float32, got {ty}")
        elif want is None and not isinstance(ty, types.Integer):
            raise TypingError(f"{name}: {arg} must be an integer, got {ty}")
        elif want is not None and not (isinstance(ty, types.Array) and ty.ndim == 1 and ty.dtype == want):
            raise TypingError(f"{name}: {arg} must be a 1-D {want} array, got {ty}")
    return types.void(*arg_types)


def _unpack(context, builder, sig, args, names=_ARGS):
    """Data pointers of the arrays, int64 values of the offsets and the float scalars, by
    argument name."""
    out = {}
    for name, ty, value in zip(names, sig.args, args, strict=True):
        if isinstance(ty, types.Array):
            out[name] = context.make_array(ty)(context, builder, value).data
        elif isinstance(ty, types.Float):
            out[name] = value
        else:
            out[name] = context.cast(builder, value, ty, types.int64)
    return out


def _lanes(builder, a):
    """Per lane i < 8: (offset of its left column's row ``detector_at`` in ``detector``, the
    broadcast left and right weights)."""
    lanes = []
    for i in range(BLOCK):
        k = builder.add(a["k0"], ir.Constant(_I64, i))
        column = builder.sext(builder.load(builder.gep(a["cols"], [k])), _I64)
        left = builder.add(builder.mul(column, a["stride"]), a["detector_at"])
        wl = builder.load(builder.gep(a["weights"], [builder.add(a["wl_at"], k)]))
        wr = builder.load(builder.gep(a["weights"], [builder.add(a["wr_at"], k)]))
        lanes.append((left, _broadcast(builder, wl), _broadcast(builder, wr)))
    return lanes


def _blocks(builder, a, body):
    """Run ``body(profile_at, row)`` for each of ``a["blocks"]`` blocks: the profile offset and
    the detector row offset of block b, ``profile_at`` + INTERLEAVE·BLOCK·b and BLOCK·b."""
    with cgutils.for_range(builder, a["blocks"]) as loop:
        b = loop.index
        body(builder.add(a["profile_at"], builder.mul(b, ir.Constant(_I64, INTERLEAVE * BLOCK))),
             builder.mul(b, ir.Constant(_I64, BLOCK)))


@intrinsic
def blend_transpose8(typingctx, profile, profile_at, detector, detector_at, stride, cols, k0, weights, wl_at,
                     wr_at, blocks):
    """Build eight lanes' profiles over ``blocks`` blocks of eight rows.

    For lanes i < 8 and rows t < 8·blocks, with c = cols[k0 + i] (int32) and j = detector_at + t:
    ``profile[profile_at + INTERLEAVE·t + i] = wl·detector[c·stride + j] + wr·detector[(c + 1)·stride + j]``
    where wl = weights[wl_at + k0 + i] and wr = weights[wr_at + k0 + i]. Each block reads the
    lanes' columns and weights again: read once before the loop instead (their 16 broadcast
    weights alone fill AVX2's 16 vector registers), the back-projection ran 5-25 % slower."""
    sig = _signature("blend_transpose8", (profile, profile_at, detector, detector_at, stride, cols, k0,
                                          weights, wl_at, wr_at, blocks))

    def codegen(context, builder, signature, args):
        a = _unpack(context, builder, signature, args)

        def block(profile_at, row):
            rows = []
            for left, wl, wr in _lanes(builder, a):
                at = builder.add(left, row)
                near = builder.load(_vector_at(builder, a["detector"], at), align=4)
                far = builder.load(_vector_at(builder, a["detector"], builder.add(at, a["stride"])), align=4)
                rows.append(_add(builder, _mul(builder, near, wl), _mul(builder, far, wr)))
            for t, v in enumerate(_transpose(builder, rows)):
                builder.store(v, _pointer(builder, a["profile"], profile_at, INTERLEAVE * t), align=4)

        _blocks(builder, a, block)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def spread_transpose8(typingctx, profile, profile_at, detector, detector_at, stride, cols, k0, weights, wl_at,
                      wr_at, blocks):
    """The transpose of :func:`blend_transpose8`, which then clears the blocks it read.

    For lanes i < 8 and rows t < 8·blocks: ``detector[c·stride + j] += wl·p`` and
    ``detector[(c + 1)·stride + j] += wr·p`` with p = profile[profile_at + INTERLEAVE·t + i] (same
    c, j, wl, wr as there). Neighbouring lanes often share a detector column, and each add must
    then wait for the previous one's store; the even lanes go first, then the odd ones, which
    keeps those waits apart (measured: about 7 % on the splat of 256-slice columns). The lanes'
    columns and weights are read once for all the blocks: the blocks' stores may alias them,
    so LLVM would not hoist those loads out of a caller's loop (measured: the splat 1.08-1.13×
    faster on 16-slice columns, 1.10× on 256-slice ones)."""
    sig = _signature("spread_transpose8", (profile, profile_at, detector, detector_at, stride, cols, k0,
                                           weights, wl_at, wr_at, blocks))

    def codegen(context, builder, signature, args):
        a = _unpack(context, builder, signature, args)
        lanes = _lanes(builder, a)

        def block(profile_at, row):
            rows = []
            for t in range(BLOCK):
                pointer = _pointer(builder, a["profile"], profile_at, INTERLEAVE * t)
                rows.append(builder.load(pointer, align=4))
                builder.store(ir.Constant(_F8, [0.0] * BLOCK), pointer, align=4)
            pairs = list(zip(_transpose(builder, rows), lanes, strict=True))
            for values, (left, wl, wr) in pairs[0::2] + pairs[1::2]:
                at = builder.add(left, row)
                for column, w in ((at, wl), (builder.add(at, a["stride"]), wr)):
                    pointer = _vector_at(builder, a["detector"], column)
                    total = _add(builder, builder.load(pointer, align=4), _mul(builder, values, w))
                    builder.store(total, pointer, align=4)

        _blocks(builder, a, block)
        return context.get_dummy_value()

    return sig, codegen


# The walk steps. A lane's row at slice z is r0 + step·z, with r0 and step in the lane state:
# ``state[at + k]`` and ``state[at + INTERLEAVE + k]`` for lane k < INTERLEAVE. ``base`` is the
# group's lowest row rounded down (a float32 holding an integer) and every lane's row lies in
# [base, base + 2), so with s = row − base − 1 ∈ [−1, 1) the linear interpolation between the
# lane's two rows is p1 + max(0, −s)·(p0 − p1) + max(0, s)·(p2 − p1) over profile rows base …
# base + 2 (p0, p1, p2): eight vector operations per eight lanes, against eleven for the three
# hat weights max(0, 1 − |row − base − r|) written out.
_WALK = ("acc", "acc_at", "profiles", "z", "state", "q", "base")
_WALK2 = ("acc", "acc_at", "profiles", "z", "state", "q", "base", "state_b", "q_b", "base_b")
_WALK_ARRAYS = {"acc": types.float32, "profiles": types.float32}
_DEPOSIT = ("profiles", "q", "lanes", "state", "z", "base", "values", "values_at")
_DEPOSIT_ARRAYS = {"profiles": types.float32, "lanes": types.float32, "values": types.float32}


def _slopes(builder, lanes, state, z, base):
    """Per half h of the lanes: (min(0, s), max(0, s)) of the rule above."""
    zero = ir.Constant(_F8, [0.0] * BLOCK)
    z = _broadcast(builder, z)
    base_1 = _broadcast(builder, _add(builder, base, ir.Constant(ir.FloatType(), 1.0)))
    out = []
    for h in range(2):
        r0 = builder.load(_pointer(builder, lanes, state, BLOCK * h), align=4)
        step = builder.load(_pointer(builder, lanes, state, INTERLEAVE + BLOCK * h), align=4)
        s = _sub(builder, _add(builder, r0, _mul(builder, step, z)), base_1)
        out.append((builder.select(builder.fcmp_ordered("<", s, zero, flags=_FAST), s, zero),
                    builder.select(builder.fcmp_ordered(">", s, zero, flags=_FAST), s, zero)))
    return out


def _interpolated(builder, profiles, state, q, z, base):
    """The two halves (<8 x float>) of the 16 lanes' interpolated values."""
    out = []
    for h, (below, above) in enumerate(_slopes(builder, profiles, state, z, base)):
        p0, p1, p2 = (builder.load(_pointer(builder, profiles, q, BLOCK * h + INTERLEAVE * r), align=4)
                      for r in range(3))
        value = _sub(builder, p1, _mul(builder, below, _sub(builder, p0, p1)))
        out.append(_add(builder, value, _mul(builder, above, _sub(builder, p2, p1))))
    return out


def _accumulate(builder, acc, at, halves):
    for h, value in enumerate(halves):
        pointer = _pointer(builder, acc, at, BLOCK * h)
        builder.store(_add(builder, builder.load(pointer, align=4), value), pointer, align=4)


@intrinsic
def interpolate16(typingctx, acc, acc_at, profiles, z, state, q, base):
    """One back-projection walk step: for lanes k < 16, ``acc[acc_at + k] +=`` the lane's
    interpolation (rule above) at slice value z from ``profiles[q + INTERLEAVE·r + k]``, r = 0, 1, 2,
    with the lane state at ``profiles[state:]``."""
    sig = _signature("interpolate16", (acc, acc_at, profiles, z, state, q, base), _WALK, _WALK_ARRAYS,
                     ("z", "base"))

    def codegen(context, builder, signature, args):
        a = _unpack(context, builder, signature, args, _WALK)
        _accumulate(builder, a["acc"], a["acc_at"],
                    _interpolated(builder, a["profiles"], a["state"], a["q"], a["z"], a["base"]))
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def interpolate16x2(typingctx, acc, acc_at, profiles, z, state, q, base, state_b, q_b, base_b):
    """:func:`interpolate16` of two projections at the same slice, added together: one pass over
    ``acc`` for both."""
    sig = _signature("interpolate16x2", (acc, acc_at, profiles, z, state, q, base, state_b, q_b, base_b),
                     _WALK2, _WALK_ARRAYS, ("z", "base", "base_b"))

    def codegen(context, builder, signature, args):
        a = _unpack(context, builder, signature, args, _WALK2)
        first = _interpolated(builder, a["profiles"], a["state"], a["q"], a["z"], a["base"])
        second = _interpolated(builder, a["profiles"], a["state_b"], a["q_b"], a["z"], a["base_b"])
        _accumulate(builder, a["acc"], a["acc_at"],
                    [_add(builder, u, v) for u, v in zip(first, second, strict=True)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def deposit16(typingctx, profiles, q, lanes, state, z, base, values, values_at):
    """One splat walk step, the transpose of :func:`interpolate16`: lane k's value
    v = ``values[values_at + k]`` goes onto ``profiles[q + INTERLEAVE·r + k]`` with the weights the
    interpolation reads it with: −min(0, s)·v on row 0, (1 + min(0, s) − max(0, s))·v on row 1,
    max(0, s)·v on row 2; the lane state is at ``lanes[state:]``."""
    sig = _signature("deposit16", (profiles, q, lanes, state, z, base, values, values_at), _DEPOSIT,
                     _DEPOSIT_ARRAYS, ("z", "base"))

    def codegen(context, builder, signature, args):
        a = _unpack(context, builder, signature, args, _DEPOSIT)
        for h, (below, above) in enumerate(_slopes(builder, a["lanes"], a["state"], a["z"], a["base"])):
            v = builder.load(_pointer(builder, a["values"], a["values_at"], BLOCK * h), align=4)
            minus_0 = _mul(builder, below, v)  # minus row 0's share
            to_2 = _mul(builder, above, v)
            to_1 = _sub(builder, _add(builder, v, minus_0), to_2)
            for r, (combine, share) in enumerate(((_sub, minus_0), (_add, to_1), (_add, to_2))):
                pointer = _pointer(builder, a["profiles"], a["q"], BLOCK * h + INTERLEAVE * r)
                builder.store(combine(builder, builder.load(pointer, align=4), share), pointer, align=4)
        return context.get_dummy_value()

    return sig, codegen
