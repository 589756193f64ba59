"""Write ember/quasirandom/sobol_direction_numbers.npz from torch's Sobol direction numbers.

Run it once, from the repository root, with a Python that has torch:

    python tests/quasirandom/make_direction_numbers.py

torch keeps Joe and Kuo's table (21201 dimensions) in its C++ code and exposes only the expanded
(dimension, 30) state, whose entry (d, j) is m_j << (29 - j). This script reads m_j back, finds
for each dimension the lowest-degree recurrence over GF(2) that generates its 30 values (the
primitive polynomial; its coefficients follow from the first recurrence step, and the other steps
confirm them), and stores that polynomial with the initial m values. It then rebuilds the state
with ember's own code and checks it equals torch's for every dimension.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ember.quasirandom import _DATA, _MAXBIT, _MAXDIM, _direction_numbers, _table  # noqa: E402


def recurrence(m: list[int]) -> tuple[int, int]:
    """(degree, polynomial) of the lowest-degree recurrence that generates ``m``."""
    for s in range(1, _MAXBIT):
        # step j = s: m_s ^ m_0 ^ (m_0 << s) = xor_k a_k (m_{s-k} << k), k < s; each term's lowest
        # set bit is k (the m are odd), so the bits of the target give a_1, a_2, ... in turn
        target = m[s] ^ m[0] ^ (m[0] << s)
        coef = [0] * s
        for k in range(1, s):
            if (target >> k) & 1:
                coef[k] = 1
                target ^= m[s - k] << k
        if target:
            continue
        ok = True
        for j in range(s + 1, _MAXBIT):
            v = m[j - s] ^ (m[j - s] << s)
            for k in range(1, s):
                if coef[k]:
                    v ^= m[j - k] << k
            if v != m[j]:
                ok = False
                break
        if ok:
            poly = (1 << s) | 1
            for k in range(1, s):
                poly |= coef[k] << (s - k)
            return s, poly
    raise ValueError(f"no recurrence of degree < {_MAXBIT} generates {m}")


def main() -> None:
    state = torch.zeros(_MAXDIM, _MAXBIT, dtype=torch.long)
    torch._sobol_engine_initialize_state_(state, _MAXDIM)
    state = state.numpy()
    m = state >> (_MAXBIT - 1 - np.arange(_MAXBIT))
    assert (m << (_MAXBIT - 1 - np.arange(_MAXBIT)) == state).all()
    assert (m & 1).all() and (m[0] == 1).all()

    polys = [1]  # dimension 0: all m_j = 1, no recurrence (degree 0)
    bits: list[int] = []
    for d in range(1, _MAXDIM):
        row = [int(v) for v in m[d]]
        s, poly = recurrence(row)
        polys.append(poly)
        for i in range(s):  # m_i's i high bits, most significant first; its low bit is 1
            bits.extend((row[i] >> (b + 1)) & 1 for b in reversed(range(i)))
    degrees = [p.bit_length() - 1 for p in polys]
    assert all(a <= b for a, b in zip(degrees[1:], degrees[2:])), "degrees not sorted"

    np.savez_compressed(
        _DATA,
        poly=np.array(polys, np.uint32),
        minit_bits=np.packbits(np.array(bits, np.uint8)),
    )
    _table.cache_clear()
    rebuilt = _direction_numbers(_MAXDIM)
    assert rebuilt.dtype == np.int64 and (rebuilt == state).all(), "rebuilt state differs"
    for dim in (1, 2, 3, 50, 1111):
        ref = torch.zeros(dim, _MAXBIT, dtype=torch.long)
        torch._sobol_engine_initialize_state_(ref, dim)
        assert (_direction_numbers(dim) == ref.numpy()).all()
    print(f"wrote {_DATA} ({_DATA.stat().st_size} bytes), max degree {max(degrees)}; checked")


if __name__ == "__main__":
    main()
