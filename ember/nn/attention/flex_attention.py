"""ember.nn.attention.flex_attention: attention with user score and mask functions, eagerly.

torch runs ``flex_attention`` unfused when it is not compiled: the full (B, H, L, S) scores are
materialised, ``score_mod`` and ``mask_mod`` are applied to them, and a softmax that gives zeros
on fully masked rows follows. ember always runs that way. The mods are called once on broadcast
index tensors (``b`` as (B, 1, 1, 1), ``h`` as (1, H, 1, 1), ``q_idx`` as (1, 1, L, 1),
``kv_idx`` as (1, 1, 1, S), ``score`` the full scores), which is exact for the elementwise mods
programs write (causal, sliding windows, ALiBi, soft-capping, tables indexed by the indices). A mod
that fails on those shapes is rerun under ``ember.vmap`` over every (b, h, q, kv) point, with 0-d
tensors as torch passes them. Gradients flow through ember's own ops, so query, key, value and
any tensor a ``score_mod`` captures get theirs (torch's CPU flex_attention refuses a backward).

A ``BlockMask`` keeps torch's block layout (``kv_num_blocks``, ``kv_indices``, their ``full_``
and ``q_`` forms, int32), so its ``shape``, ``to_dense()``, ``sparsity()`` and printing agree
with torch's; as in torch's eager path, the attention itself masks with ``mask_mod`` evaluated on
every point.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import ember

from ..._torch_alias import module_getattr as _module_getattr

__all__ = [
    "BlockMask",
    "flex_attention",
    "AuxOutput",
    "AuxRequest",
    "FlexKernelOptions",
    "create_block_mask",
    "create_mask",
    "or_masks",
    "and_masks",
    "noop_mask",
]

_DEFAULT_SPARSE_BLOCK_SIZE = 128
_LARGE_SPARSE_BLOCK_SIZE = 1 << 30
# torch's switch for debugging mods eagerly; here it only silences the "not compiled" warning
_FLEX_ATTENTION_DISABLE_COMPILE_DEBUG = False
_WARNINGS_SHOWN: set[str] = set()

FlexKernelOptions = dict  # torch's TypedDict of kernel tuning knobs: ember has no kernel to tune


class AuxRequest(NamedTuple):
    """Which auxiliary outputs ``flex_attention`` returns, as torch's."""

    lse: bool = False
    max_scores: bool = False


class AuxOutput(NamedTuple):
    """The auxiliary outputs of ``flex_attention`` (None where not requested), as torch's."""

    lse: ember.Tensor | None = None
    max_scores: ember.Tensor | None = None


def _warn_once(key: str, message: str, category: type[Warning]) -> None:
    if key not in _WARNINGS_SHOWN:
        warnings.warn(message, category, stacklevel=3)
        _WARNINGS_SHOWN.add(key)


# --- mods ------------------------------------------------------------------------------------


def noop_mask(
    batch: ember.Tensor, head: ember.Tensor, token_q: ember.Tensor, token_kv: ember.Tensor
) -> ember.Tensor:
    """The mask_mod that keeps every position (a 0-d True), as torch's."""
    return ember.ones((), dtype=ember.bool, device=batch.device)


def _identity(score, batch, head, token_q, token_kv):
    return score


def _sliced_mask_mod_error(batch, head, token_q, token_kv):
    raise RuntimeError(
        "Cannot use mask_mod from a sliced BlockMask. When you slice a BlockMask using [], the "
        "mask_mod attribute is reset; set it from the original BlockMask's mask_mod."
    )


def or_masks(*mask_mods: Callable) -> Callable:
    """A mask_mod keeping a position when any of ``mask_mods`` keeps it, as torch's."""
    if not all(callable(m) for m in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def or_mask(b, h, q_idx, kv_idx):
        out = ember.zeros((), dtype=ember.bool, device=b.device)
        for m in mask_mods:
            out = out | m(b, h, q_idx, kv_idx)
        return out

    return or_mask


def and_masks(*mask_mods: Callable) -> Callable:
    """A mask_mod keeping a position when all of ``mask_mods`` keep it, as torch's."""
    if not all(callable(m) for m in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def and_mask(b, h, q_idx, kv_idx):
        out = ember.ones((), dtype=ember.bool, device=b.device)
        for m in mask_mods:
            out = out & m(b, h, q_idx, kv_idx)
        return out

    return and_mask


def _positional_count(fn: Callable) -> int:
    code = getattr(fn, "__code__", None)
    if code is not None:
        return code.co_argcount - len(getattr(fn, "__defaults__", None) or ())
    return sum(
        1 for p in inspect.signature(fn).parameters.values() if p.default is inspect.Parameter.empty
    )


def _is_score_mod(fn: Callable) -> bool:
    """True for a score_mod (5 positional arguments), False for a mask_mod (4), as torch tells."""
    n = _positional_count(fn)
    if n not in (4, 5):
        raise AssertionError(f"Expected 4 or 5 positional args, got {n}")
    return n == 5


def _apply_mod(fn: Callable, score, shape: tuple[int, int, int, int], device) -> ember.Tensor:
    """``fn`` over every (b, h, q, kv) of ``shape``: on broadcast indices, else under vmap.

    ``score`` is the (B, H, L, S) scores for a score_mod, None for a mask_mod."""
    B, H, L, S = shape
    idx = [
        ember.arange(n, device=device).reshape(tuple(n if d == i else 1 for d in range(4)))
        for i, n in enumerate(shape)
    ]
    args = idx if score is None else [score, *idx]
    try:
        out = fn(*args)
        if not isinstance(out, ember.Tensor):
            out = ember.tensor(out, device=device)
        if out.dim() <= 4 and ember.broadcast_shapes(tuple(out.shape), shape) == shape:
            return out.expand(shape)
    except Exception:  # a mod that needs 0-d indices: torch's per-point semantics below
        pass
    flat = [t.expand(shape).reshape(-1) for t in idx]
    if score is not None:
        flat = [score.reshape(-1), *flat]
    return ember.vmap(fn)(*flat).reshape(shape)


def create_mask(
    mod_fn: Callable,
    B: int | None,
    H: int | None,
    Q_LEN: int,
    KV_LEN: int,
    device: Any = None,
) -> ember.Tensor:
    """The dense (B, H, Q_LEN, KV_LEN) bool mask of a mask_mod or score_mod, as torch's.

    A score_mod keeps the positions it does not set to -inf (applied to zero scores)."""
    device = "cpu" if device is None else device
    shape = (B or 1, H or 1, Q_LEN, KV_LEN)
    if _is_score_mod(mod_fn):
        out = _apply_mod(mod_fn, ember.zeros(shape, device=device), shape, device)
        return ember.logical_not(ember.isneginf(out))
    return _apply_mod(mod_fn, None, shape, device).to(ember.bool).contiguous()


# --- the block layout --------------------------------------------------------------------------


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _int32(a: np.ndarray, device) -> ember.Tensor:
    return ember.from_numpy(np.ascontiguousarray(a, dtype=np.int32)).to(device)


def _ordered_to_dense(num_blocks: np.ndarray, indices: np.ndarray, cols: int) -> np.ndarray:
    """Per-row block counts and column lists -> the (..., rows, cols) 0/1 block matrix."""
    valid = np.arange(indices.shape[-1]) < num_blocks[..., None]
    where = np.where(valid, indices, cols).astype(np.int64)
    dense = np.zeros(indices.shape[:-1] + (cols + 1,), np.int32)
    np.put_along_axis(dense, where, 1, axis=-1)
    return dense[..., :cols]


def _dense_to_ordered(dense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 0/1 block matrix -> per-row counts and its columns, present ones first (stable)."""
    dense = dense.astype(np.int32)
    return dense.sum(-1, dtype=np.int32), np.argsort(-dense, axis=-1, kind="stable")


def _transpose_ordered(num_blocks, indices, device):
    dense = _ordered_to_dense(_np(num_blocks), _np(indices), indices.shape[-1])
    n, idx = _dense_to_ordered(np.swapaxes(dense, -1, -2))
    return _int32(n, device), _int32(idx, device)


class BlockMask:
    """A block-sparse attention mask: which KV blocks each query block sees, as torch's.

    ``kv_num_blocks``/``kv_indices`` list the partly kept blocks, ``full_kv_*`` the wholly kept
    ones (``mask_mod`` need not run there), ``q_*`` the same by columns; ``BLOCK_SIZE`` is
    (Q_BLOCK_SIZE, KV_BLOCK_SIZE) and ``seq_lengths`` (Q_LEN, KV_LEN).
    """

    def __init__(
        self,
        seq_lengths: tuple[int, int],
        kv_num_blocks: ember.Tensor,
        kv_indices: ember.Tensor,
        full_kv_num_blocks: ember.Tensor | None,
        full_kv_indices: ember.Tensor | None,
        q_num_blocks: ember.Tensor | None,
        q_indices: ember.Tensor | None,
        full_q_num_blocks: ember.Tensor | None,
        full_q_indices: ember.Tensor | None,
        BLOCK_SIZE: tuple[int, int] = (_DEFAULT_SPARSE_BLOCK_SIZE, _DEFAULT_SPARSE_BLOCK_SIZE),
        mask_mod: Callable = noop_mask,
        *,
        dq_write_order: ember.Tensor | None = None,
        dq_write_order_full: ember.Tensor | None = None,
        dq_kv_order: ember.Tensor | None = None,
        dq_kv_order_spt: bool | None = None,
    ) -> None:
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError(
                "full_kv_num_blocks and full_kv_indices must be both provided or omitted"
            )
        if (full_q_num_blocks is None) != (full_q_indices is None):
            raise AssertionError(
                "full_q_num_blocks and full_q_indices must be both provided or omitted"
            )
        self.seq_lengths = tuple(seq_lengths)
        self.kv_num_blocks = kv_num_blocks
        self.kv_indices = kv_indices
        self.full_kv_num_blocks = full_kv_num_blocks
        self.full_kv_indices = full_kv_indices
        self.q_num_blocks = q_num_blocks
        self.q_indices = q_indices
        self.full_q_num_blocks = full_q_num_blocks
        self.full_q_indices = full_q_indices
        self.dq_write_order = dq_write_order
        self.dq_write_order_full = dq_write_order_full
        self.dq_kv_order = dq_kv_order
        self.dq_kv_order_spt = dq_kv_order_spt
        self.BLOCK_SIZE = tuple(BLOCK_SIZE)
        self.mask_mod = mask_mod

    @classmethod
    def from_kv_blocks(
        cls,
        kv_num_blocks: ember.Tensor,
        kv_indices: ember.Tensor,
        full_kv_num_blocks: ember.Tensor | None = None,
        full_kv_indices: ember.Tensor | None = None,
        BLOCK_SIZE: int | tuple[int, int] = _DEFAULT_SPARSE_BLOCK_SIZE,
        mask_mod: Callable | None = None,
        seq_lengths: tuple[int, int] | None = None,
        compute_q_blocks: bool = True,
        **_dq: Any,
    ) -> BlockMask:
        """A BlockMask from its KV block lists; the Q lists are derived, as torch's."""
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError(
                "full_kv_num_blocks and full_kv_indices must be both provided or omitted"
            )
        dev = kv_indices.device
        q_n = q_i = fq_n = fq_i = None
        if compute_q_blocks:
            q_n, q_i = _transpose_ordered(kv_num_blocks, kv_indices, dev)
            if full_kv_num_blocks is not None:
                fq_n, fq_i = _transpose_ordered(full_kv_num_blocks, full_kv_indices, dev)
        if isinstance(BLOCK_SIZE, int):
            BLOCK_SIZE = (BLOCK_SIZE, BLOCK_SIZE)
        if seq_lengths is None:
            seq_lengths = (
                kv_indices.shape[-2] * BLOCK_SIZE[0],
                kv_indices.shape[-1] * BLOCK_SIZE[1],
            )
        return cls(
            seq_lengths,
            kv_num_blocks,
            kv_indices,
            full_kv_num_blocks,
            full_kv_indices,
            q_n,
            q_i,
            fq_n,
            fq_i,
            BLOCK_SIZE=BLOCK_SIZE,
            mask_mod=mask_mod if mask_mod is not None else noop_mask,
        )

    @property
    def shape(self) -> tuple[int, ...]:
        """(B, H, Q_LEN, KV_LEN)."""
        return tuple(self.kv_indices.shape[:-2]) + tuple(self.seq_lengths)

    def numel(self) -> int:
        """The number of positions of the mask (sparsity not counted)."""
        return math.prod(self.shape)

    def sparsity(self) -> float:
        """The percentage of block area not computed, as torch's (negative when the blocks
        overhang short sequences, as torch's)."""
        computed = int(_np(self.kv_num_blocks).sum())
        if self.full_kv_num_blocks is not None:
            computed += int(_np(self.full_kv_num_blocks).sum())
        size = computed * self.BLOCK_SIZE[0] * self.BLOCK_SIZE[1]
        return 100 * (1 - size / self.numel())

    def _dense_blocks(self) -> np.ndarray:
        cols = self.kv_indices.shape[-1]
        dense = _ordered_to_dense(_np(self.kv_num_blocks), _np(self.kv_indices), cols)
        if self.full_kv_num_blocks is not None:
            dense = dense | _ordered_to_dense(
                _np(self.full_kv_num_blocks), _np(self.full_kv_indices), cols
            )
        return dense

    def to_dense(self) -> ember.Tensor:
        """The (..., Q blocks, KV blocks) int32 0/1 matrix of the blocks computed, as torch's."""
        return _int32(self._dense_blocks(), self.kv_indices.device)

    def to_string(self, grid_size: int | tuple[int, int] = (20, 20), limit: int = 4) -> str:
        """A text picture of the blocks per (batch, head): full, partial or empty cells."""
        dense = self._dense_blocks()
        *batch, rows, cols = dense.shape
        if grid_size == -1:
            max_r, max_c = rows, cols
        elif isinstance(grid_size, int):
            max_r = max_c = grid_size
        else:
            max_r, max_c = grid_size
        r_step, c_step = max(1, -(-rows // max_r)), max(1, -(-cols // max_c))
        parts = []
        for n, bidx in enumerate(np.ndindex(*batch)):
            if n == limit:
                parts += [
                    "...",
                    "To print out more, set BlockMask.to_string(limit=N)",
                    "You can also index (BlockMask[batch, head]) to choose a specific batch or "
                    "head",
                ]
                break
            m = dense[bidx]
            text = f"{bidx}\n"
            for r in range(0, rows, r_step):
                for c in range(0, cols, c_step):
                    mean = m[r : r + r_step, c : c + c_step].mean()
                    text += ("█" if mean == 1 else " " if mean == 0 else "░") * 2
                text += "\n"
            parts.append(text)
        return "\n".join(parts)

    def __str__(self) -> str:
        return (
            f"BlockMask(shape={self.shape}, sparsity={self.sparsity():.2f}%, \n"
            f"{self.to_string().strip()}\n)"
        )

    def __repr__(self) -> str:
        def size(t):
            return None if t is None else t.shape

        name = getattr(self.mask_mod, "__name__", self.mask_mod)
        return (
            "BlockMask(\n"
            f"    kv_num_blocks={size(self.kv_num_blocks)},\n"
            f"    kv_indices={size(self.kv_indices)},\n"
            f"    full_kv_num_blocks={size(self.full_kv_num_blocks)},\n"
            f"    full_kv_indices={size(self.full_kv_indices)},\n"
            f"    q_num_blocks={size(self.q_num_blocks)},\n"
            f"    q_indices={size(self.q_indices)},\n"
            f"    full_q_num_blocks={size(self.full_q_num_blocks)},\n"
            f"    full_q_indices={size(self.full_q_indices)},\n"
            f"    BLOCK_SIZE={self.BLOCK_SIZE},\n"
            f"    shape={self.shape},\n"
            f"    sparsity={self.sparsity():.2f}%,\n"
            f"    mask_mod={name}\n"
            ")"
        )

    def __getitem__(self, index: Any) -> BlockMask:
        """The mask of some batches/heads/query blocks; its mask_mod must be set again."""
        index = index if isinstance(index, tuple) else (index,)
        padded = (*index, slice(None), slice(None), slice(None))[:3]
        sizes = tuple(self.kv_num_blocks.shape[:3])
        index = tuple(
            (slice(i % n, i % n + 1) if isinstance(i, int) else i)
            for i, n in zip(padded, sizes, strict=False)
        )

        def pick(t):
            return None if t is None else t[index]

        return BlockMask.from_kv_blocks(
            pick(self.kv_num_blocks),
            pick(self.kv_indices),
            pick(self.full_kv_num_blocks),
            pick(self.full_kv_indices),
            BLOCK_SIZE=self.BLOCK_SIZE,
            mask_mod=_sliced_mask_mod_error,
            seq_lengths=self.seq_lengths,
            compute_q_blocks=self.q_indices is not None,
        )

    def as_tuple(self, flatten: bool = True) -> tuple[Any, ...]:
        """The fields in torch's order: lengths, the block lists, BLOCK_SIZE, mask_mod."""
        sizes = (*self.seq_lengths,) if flatten else (self.seq_lengths,)
        blocks = (*self.BLOCK_SIZE,) if flatten else (self.BLOCK_SIZE,)
        return (
            *sizes,
            self.kv_num_blocks,
            self.kv_indices,
            self.full_kv_num_blocks,
            self.full_kv_indices,
            self.q_num_blocks,
            self.q_indices,
            self.full_q_num_blocks,
            self.full_q_indices,
            self.dq_write_order,
            self.dq_write_order_full,
            self.dq_kv_order,
            self.dq_kv_order_spt,
            *blocks,
            self.mask_mod,
        )

    def to(self, device: Any) -> BlockMask:
        """A copy with every tensor on ``device``."""
        out = BlockMask.__new__(BlockMask)
        for k, v in vars(self).items():
            setattr(out, k, v.to(device) if isinstance(v, ember.Tensor) else v)
        return out


def create_block_mask(
    mask_mod: Callable,
    B: int | None,
    H: int | None,
    Q_LEN: int,
    KV_LEN: int,
    device: Any = None,
    BLOCK_SIZE: int | tuple[int, int] = _DEFAULT_SPARSE_BLOCK_SIZE,
    _compile: bool = False,
    separate_full_blocks: bool = True,
    compute_dq_write_order: bool = False,
    dq_kv_order: bool = True,
) -> BlockMask:
    """The BlockMask of ``mask_mod`` over (B, H, Q_LEN, KV_LEN), as torch's.

    B and H of None mean 1 (broadcast over the batch/heads). ``_compile`` warns, as torch's
    deprecation, and changes nothing; the dQ write-order knobs are accepted and ignored.
    """
    if _is_score_mod(mask_mod):
        raise AssertionError(f"create-block_mask requires a mask_mod function! Got {mask_mod}")
    qb, kb = (BLOCK_SIZE, BLOCK_SIZE) if isinstance(BLOCK_SIZE, int) else BLOCK_SIZE
    if _compile:
        warnings.warn(
            "create_block_mask's _compile flag is deprecated: compile create_block_mask itself "
            "instead (ember builds the mask eagerly either way).",
            DeprecationWarning,
            stacklevel=2,
        )
    mask = _np(create_mask(mask_mod, B, H, Q_LEN, KV_LEN, device))
    Bm, Hm = mask.shape[:2]
    rows, cols = -(-Q_LEN // qb), -(-KV_LEN // kb)
    padded = np.zeros((Bm, Hm, rows * qb, cols * kb), np.int64)
    padded[..., :Q_LEN, :KV_LEN] = mask
    counts = padded.reshape(Bm, Hm, rows, qb, cols, kb).sum((3, 5))
    dev = "cpu" if device is None else device
    if separate_full_blocks:
        full = counts == qb * kb
        partial = (counts > 0) & ~full
        fn, fi = _dense_to_ordered(full)
        full_n, full_i = _int32(fn, dev), _int32(fi, dev)
    else:
        partial, full_n, full_i = counts > 0, None, None
    pn, pi = _dense_to_ordered(partial)
    return BlockMask.from_kv_blocks(
        _int32(pn, dev),
        _int32(pi, dev),
        full_n,
        full_i,
        BLOCK_SIZE=(qb, kb),
        mask_mod=mask_mod,
        seq_lengths=(Q_LEN, KV_LEN),
    )


# --- attention ---------------------------------------------------------------------------------


def _check_inputs(query, key, value, block_mask, enable_gqa: bool) -> None:
    if query.dtype != key.dtype or query.dtype != value.dtype:
        raise ValueError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{query.dtype}, key.dtype: {key.dtype}, and value.dtype: {value.dtype} instead."
        )
    if query.device != key.device or query.device != value.device:
        raise ValueError(
            "Expected query, key, and value to have the same device type, but got query.device: "
            f"{query.device}, key.device: {key.device}, and value.device: {value.device} instead."
        )
    if query.size(-1) != key.size(-1):
        raise ValueError(
            "Expect query and key/value to have the same embedding dimension but got "
            f"E={query.size(-1)} and E={key.size(-1)}."
        )
    if query.dim() != 4 or key.dim() != 4 or value.dim() != 4:
        raise NotImplementedError("NYI: query, key, and value must be 4D tensors")
    hq, hk = query.size(1), key.size(1)
    if not enable_gqa and hq != hk:
        raise ValueError(
            "Expect query and key/value to have the same number of heads but got "
            f"Hq={hq} and Hkv={hk}. Try setting enable_gqa=True for GQA."
        )
    if enable_gqa and hq % hk:
        raise ValueError(
            "Expect number of query heads to be a multiple of kv heads for GQA but got "
            f"Hq={hq} and Hkv={hk}."
        )
    bq, bk = query.size(0), key.size(0)
    if bq != bk:
        if block_mask is None:
            raise ValueError(
                "Expect query and key/value to have the same batch size, or non-none block_mask, "
                f"but got block_mask=None, Bq={bq}, and Bkv={bk}."
            )
        if block_mask.kv_num_blocks.size(0) != bq:
            raise ValueError(
                "Expect query and key/value to have the same batch size, or block_mask and query "
                f"to have the same batch size, but got Bq={bq}, Bkv={bk}, "
                f"B_block_mask={block_mask.kv_num_blocks.size(0)}."
            )
        if bk != 1:
            raise RuntimeError(f"Bq and Bkv must broadcast. Got Bq={bq} and Bkv={bk}")
    if block_mask is not None and block_mask.BLOCK_SIZE != (_LARGE_SPARSE_BLOCK_SIZE,) * 2:
        ql, kl = block_mask.shape[-2:]
        if query.size(-2) != ql or key.size(-2) != kl:
            raise ValueError(
                f"block_mask was created for block_mask.shape={block_mask.shape} but got "
                f"q_len={query.size(-2)} and kv_len={key.size(-2)}: create a new block mask "
                "for these lengths."
            )


def flex_attention(
    query: ember.Tensor,
    key: ember.Tensor,
    value: ember.Tensor,
    score_mod: Callable | None = None,
    block_mask: BlockMask | None = None,
    scale: float | None = None,
    enable_gqa: bool = False,
    return_lse: bool = False,
    kernel_options: dict | None = None,
    *,
    return_aux: AuxRequest | None = None,
) -> ember.Tensor | tuple[ember.Tensor, Any]:
    """Attention whose scores pass through ``score_mod`` and ``block_mask``, as torch's eager
    (unfused) flex_attention.

    query (B, Hq, L, E), key (B|1, Hkv, S, E), value (B|1, Hkv, S, Ev); ``scale`` defaults to
    1/sqrt(E). Scores are computed in float32 (float64 for float64 inputs) and a fully masked
    row gives zeros, lse -inf. ``return_lse`` (deprecated in torch, warns once) returns
    (out, lse); ``return_aux`` returns (out, AuxOutput); lse and max_scores are natural-log,
    in the working precision (max_scores raises on the CPU, as torch's). Warns once that it
    runs unfused, as torch does uncompiled.
    Unlike torch on the CPU, a backward works (query, key, value and captured tensors).
    """
    _check_inputs(query, key, value, block_mask, enable_gqa)
    if block_mask is not None and block_mask.mask_mod is _sliced_mask_mod_error:
        raise RuntimeError("Cannot use mask_mod from a sliced BlockMask")
    if return_lse and return_aux is not None:
        raise ValueError(
            "Cannot specify both return_lse and return_aux. return_lse is deprecated, please use "
            "return_aux=AuxRequest(lse=True) instead."
        )
    if return_aux is not None and return_aux.max_scores and query.device.type == "cpu":
        raise NotImplementedError("Returning max scores is not supported on CPU/MPS.")
    if return_aux is not None and return_aux.max_scores and query.device.type == "cpu":
        raise NotImplementedError("Returning max scores is not supported on CPU/MPS.")
    if return_lse:
        _warn_once(
            "deprecated_return_lse",
            "return_lse is deprecated and will be removed in v2.10. Please use "
            "return_aux=AuxRequest(lse=True) instead.",
            FutureWarning,
        )
    if not _FLEX_ATTENTION_DISABLE_COMPILE_DEBUG:
        _warn_once(
            "flex_attention_performance",
            "flex_attention called without torch.compile() - this will use an unfused "
            "implementation that materializes the full scores matrix instead of generating a "
            "fused kernel.\n\nember has no fused kernel: it always runs this way.",
            UserWarning,
        )
    B, Hq, L, E = query.shape
    Hk, S = key.size(1), key.size(2)
    G = Hq // Hk
    scale = 1.0 / math.sqrt(E) if scale is None else scale
    wp = ember.float64 if query.dtype == ember.float64 else ember.float32
    q = query.to(wp).reshape(B, Hk, G, L, E)
    k = key.to(wp).unsqueeze(2)  # (B|1, Hk, 1, S, E): the G query heads share it
    scores = ember.matmul(q, k.transpose(-1, -2)).reshape(B, Hq, L, S) * scale

    shape = (B, Hq, L, S)
    mods = _identity if score_mod is None else score_mod
    mod_scores = scores if score_mod is None else _apply_mod(mods, scores, shape, query.device)
    if mod_scores.dtype != wp:
        mod_scores = mod_scores.to(wp)
    mask_mod = noop_mask if block_mask is None else block_mask.mask_mod
    keep = _apply_mod(mask_mod, None, shape, query.device).to(ember.bool)
    post = ember.where(keep, mod_scores, float("-inf"))

    dead = ember.logical_not(keep.any(-1, keepdim=True))  # rows with nothing kept
    safe = ember.where(dead, 0.0, post)
    p = ember.where(dead, 0.0, ember.softmax(safe, -1))
    v = value.to(query.dtype).unsqueeze(2)
    out = ember.matmul(p.to(query.dtype).reshape(B, Hk, G, L, S), v).reshape(B, Hq, L, -1)

    want_lse = return_lse or (return_aux is not None and return_aux.lse)
    want_max = return_aux is not None and return_aux.max_scores
    lse = max_scores = None
    if want_lse:
        lse = ember.where(dead.squeeze(-1), float("-inf"), ember.logsumexp(safe, -1))
    if want_max:
        max_scores = post.amax(-1)
    if return_aux is not None:
        return out, AuxOutput(lse=lse, max_scores=max_scores)
    if return_lse:
        return out, lse
    return out


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
