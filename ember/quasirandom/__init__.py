"""torch.quasirandom: the Sobol sequence engine, with torch's direction numbers and scrambling.

The direction numbers are Joe and Kuo's (search criterion D(6), 21201 dimensions), as torch's.
``sobol_direction_numbers.npz`` stores them compactly: per dimension the primitive polynomial
(``poly``, as an integer whose bits are its coefficients) and the initial values m_i without their
always-set low bit, bit-packed one after another (``minit_bits``). ``tests/quasirandom/
make_direction_numbers.py`` wrote it from torch's own table; the engine rebuilds the rows it
needs with the Bratley-Fox recurrence.
"""

from __future__ import annotations

import functools
import operator
from pathlib import Path

import numpy as np

from .. import dtypes
from .._torch_alias import module_getattr as _module_getattr
from ..ops.join import cat
from ..random import Generator, randint
from ..tensor import Tensor, _wrap

__all__ = ["SobolEngine"]

_MAXBIT = 30
_MAXDIM = 21201
_DATA = Path(__file__).with_name("sobol_direction_numbers.npz")


@functools.cache
def _table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stored polynomials, their degrees and the unpacked m-value bit stream."""
    with np.load(_DATA, allow_pickle=False) as z:
        poly = z["poly"].astype(np.int64)
        bits = np.unpackbits(z["minit_bits"])
    degree = np.zeros(poly.shape, np.int64)
    rest = poly.copy()
    while rest.any():  # bit length - 1, without float log2 rounding near powers of two
        degree += rest > 1
        rest >>= 1
    return poly, degree, bits


def _direction_numbers(dimension: int) -> np.ndarray:
    """The (dimension, 30) int64 direction numbers torch's engine starts from, unscrambled."""
    poly, degree, bits = _table()
    poly, deg = poly[:dimension], degree[:dimension]
    m = np.ones((dimension, _MAXBIT), np.int64)  # dimension 0 keeps m_j = 1: van der Corput

    # initial values: field (d, i) holds the i high bits of m_i, fields packed in (d, i) order
    nbits = deg * (deg - 1) // 2
    dim_start = np.cumsum(nbits) - nbits
    rows = np.repeat(np.arange(dimension), deg)
    cols = np.arange(rows.size) - np.repeat(np.cumsum(deg) - deg, deg)
    start = dim_start[rows] + cols * (cols - 1) // 2
    high = np.zeros(rows.size, np.int64)
    for b in range(int(deg.max(initial=0))):
        use = b < cols
        high[use] = (high[use] << 1) | bits[start[use] + b]
    m[rows, cols] = (high << 1) | 1

    # m_j = m_{j-s} ^ (m_{j-s} << s) ^ xor_k a_k (m_{j-k} << k), a_k = bit s-k of the polynomial;
    # one pass per column j, all dimensions at once
    live = deg > 0
    d_idx = np.arange(dimension)
    for j in range(1, _MAXBIT):
        grow = live & (deg <= j)
        if not grow.any():
            continue
        prev = m[d_idx, np.where(grow, j - deg, 0)]
        new = prev ^ (prev << deg)
        for k in range(1, min(j, int(deg[grow].max()))):
            coef = grow & (k < deg) & (((poly >> np.maximum(deg - k, 0)) & 1) == 1)
            new ^= np.where(coef, m[:, j - k] << k, 0)
        m[:, j] = np.where(grow, new, m[:, j])
    return m << (_MAXBIT - 1 - np.arange(_MAXBIT))


def _scrambled(state: np.ndarray, ltm: np.ndarray) -> np.ndarray:
    """Owen's linear matrix scramble: each direction number's bits, most significant first,
    multiplied over GF(2) by its dimension's lower-triangular matrix with a unit diagonal."""
    shifts = _MAXBIT - 1 - np.arange(_MAXBIT)
    # the product is the xor of the matrix's columns picked by the number's bits; a column,
    # packed as an integer with row 0 as the top bit, is already a scrambled number; the
    # diagonal counts as set whatever was drawn there
    columns = np.einsum("dpc,p->dc", ltm, np.int64(1) << shifts) | (np.int64(1) << shifts)
    out = np.zeros_like(state)
    for c in range(_MAXBIT):
        picked = ((state >> shifts[c]) & 1).astype(bool)
        out ^= np.where(picked, columns[:, c : c + 1], 0)
    return out


def _rightmost_zero(idx: np.ndarray) -> np.ndarray:
    """The position of the lowest clear bit of each index (0 for negative ones, as torch's C++
    loop gives)."""
    low = (~idx & (idx + 1)).astype(np.float64)  # a power of two, exact in float64
    pos = np.log2(np.maximum(low, 1.0)).astype(np.int64)
    return np.where(idx < 0, 0, pos)


def _gray(n: int) -> int:
    return n ^ (n >> 1)


def _check_point_range(stop: int) -> None:
    """Refuse steps up to ``stop`` (exclusive) that reach past the sequence's 2**30 points."""
    # the step after point 2**30 - 1 needs column 30 of a 30-column table: torch reads past it
    if stop >= 2**_MAXBIT:
        raise ValueError(
            f"SobolEngine gives at most 2**{_MAXBIT} points; this asks for point {stop} "
            "(counting from 0)"
        )


class SobolEngine:
    """Draws (scrambled) Sobol sequences, as ``torch.quasirandom.SobolEngine``.

    Up to 21201 dimensions with Joe and Kuo's direction numbers; draws equal torch's bit for bit.
    With ``scramble=True`` the scrambling matrices and shift come from a ``Generator`` seeded with
    ``seed``, or from the default generator when ``seed`` is None, in torch's order, so a seed (or
    ``manual_seed``) gives torch's scrambled points. The first point is computed in the default
    dtype at construction and converted on draw, as torch does.
    """

    MAXBIT = _MAXBIT
    MAXDIM = _MAXDIM

    def __init__(self, dimension: int, scramble: bool = False, seed: int | None = None) -> None:
        if dimension > self.MAXDIM or dimension < 1:
            raise ValueError(
                f"Supported range of dimensionality for SobolEngine is [1, {self.MAXDIM}]"
            )
        self.seed = seed
        self.scramble = scramble
        self.dimension = dimension
        dim = operator.index(dimension)

        self._state = _direction_numbers(dim)
        if self.scramble:
            gen = None
            if seed is not None:
                gen = Generator()
                gen.manual_seed(seed)
            # torch's order: the shift's bits, then the matrices
            shift_bits = randint(2, (dim, self.MAXBIT), generator=gen).numpy()
            self._shift = (shift_bits << np.arange(self.MAXBIT)).sum(axis=1)
            ltm = np.tril(randint(2, (dim, self.MAXBIT, self.MAXBIT), generator=gen).numpy())
            self._state = _scrambled(self._state, ltm)
        else:
            self._shift = np.zeros(dim, np.int64)

        self._quasi = self._shift.copy()
        # torch divides the long shift in the default dtype here, once
        self._first_point = (_wrap(self._shift.copy()) / 2**self.MAXBIT).reshape(1, -1)
        self.num_generated = 0

    # torch's long tensors, sharing memory with the arrays the engine works on
    @property
    def sobolstate(self) -> Tensor:
        return _wrap(self._state)

    @property
    def shift(self) -> Tensor:
        return _wrap(self._shift)

    @property
    def quasi(self) -> Tensor:
        return _wrap(self._quasi)

    def _advance(self, start: int, count: int) -> None:
        """Move ``quasi`` over ``count`` steps from step ``start`` without keeping the points."""
        if count <= 0:
            return
        _check_point_range(start + count)
        # steps at negative indices flip column 0 (torch's loop on a negative count)
        negative = min(count, max(-start, 0))
        flips = negative & 1
        lo = max(start, 0)
        # the steps from 0 to n flip the columns set in the Gray code of n
        mask = _gray(lo) ^ _gray(start + count) if start + count > lo else 0
        cols = [b for b in range(self.MAXBIT) if (mask >> b) & 1]
        if flips:
            cols.append(0)
        if cols:
            self._quasi = self._quasi ^ np.bitwise_xor.reduce(self._state[:, cols], axis=1)

    def _points(self, n: int, start: int, dtype: dtypes.dtype) -> Tensor:
        """The next ``n`` points from step ``start``, advancing ``quasi`` past them."""
        if n < 0:
            raise RuntimeError(
                f"Trying to create tensor with negative dimension {n}: [{n}, {self.dimension}]"
            )
        if dtype not in (dtypes.float32, dtypes.float64):
            name = dtypes.scalar_type_name(dtype.name)
            raise NotImplementedError(f"\"_sobol_engine_draw\" not implemented for '{name}'")
        if n == 0:
            return _wrap(np.zeros((0, self.dimension), dtype.np))
        _check_point_range(start + n)
        steps = _rightmost_zero(np.arange(start, start + n, dtype=np.int64))
        flips = self._state.T[steps]  # (n, dimension)
        flips[0] ^= self._quasi
        ints = np.bitwise_xor.accumulate(flips, axis=0)
        self._quasi = ints[-1].copy()
        # int64 rounds to the float type first, then the exact power-of-two scale, as torch's
        vals = ints.astype(dtype.np) * dtype.np.type(1.0 / 2**self.MAXBIT)
        return _wrap(vals)

    def draw(
        self, n: int = 1, out: Tensor | None = None, dtype: dtypes.dtype | None = None
    ) -> Tensor:
        """Draw the next ``n`` points, an ``(n, dimension)`` tensor, as torch's ``draw``.

        ``dtype`` defaults to the default dtype; float32 and float64 are computed (others raise
        torch's not-implemented error, except for the lone first point, converted as torch's).
        ``out`` is resized and filled.
        """
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.to_dtype(dtype)
        n = operator.index(n)
        if self.num_generated == 0:
            if n == 1:
                result = self._first_point.to(dtype)
            else:
                rest = self._points(n - 1, self.num_generated, dtype)
                result = cat((self._first_point.to(dtype), rest), dim=-2)
        else:
            result = self._points(n, self.num_generated - 1, dtype)
        self.num_generated += n
        if out is not None:
            out.resize_as_(result).copy_(result)
            return out
        return result

    def draw_base2(
        self, m: int, out: Tensor | None = None, dtype: dtypes.dtype | None = None
    ) -> Tensor:
        """Draw the next ``2**m`` points; the total drawn must stay a power of two, as torch's."""
        n = 2**m
        total_n = self.num_generated + n
        if not (total_n & (total_n - 1) == 0):
            raise ValueError(
                "The balance properties of Sobol' points require "
                f"n to be a power of 2. {self.num_generated} points have been "
                f"previously generated, then: n={self.num_generated}+2**{m}={total_n}. "
                "If you still want to do this, please use "
                "'SobolEngine.draw()' instead."
            )
        return self.draw(n=n, out=out, dtype=dtype)

    def reset(self) -> SobolEngine:
        """Return to the first point (the scrambling stays)."""
        self._quasi = self._shift.copy()
        self.num_generated = 0
        return self

    def fast_forward(self, n: int) -> SobolEngine:
        """Skip ``n`` points, as drawing them would."""
        n = operator.index(n)
        if self.num_generated == 0:
            self._advance(self.num_generated, n - 1)
        else:
            self._advance(self.num_generated - 1, n)
        self.num_generated += n
        return self

    def __repr__(self) -> str:
        parts = [f"dimension={self.dimension}"]
        if self.scramble:
            parts.append("scramble=True")
        if self.seed is not None:
            parts.append(f"seed={self.seed}")
        return f"{type(self).__name__}({', '.join(parts)})"


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
