"""Adaptive softmax: AdaptiveLogSoftmaxWithLoss, as torch.nn.AdaptiveLogSoftmaxWithLoss."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence

from ...ops.join import cat
from ...tensor import Tensor
from .. import functional as F
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

# forward's result: the target log-probabilities and their mean negative (torch's type name)
_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax (Grave et al. 2016): frequent classes in a head, rare ones in clusters.

    As torch's: ``cutoffs`` split classes 0..n_classes-1 into the head's shortlist
    [0, cutoffs[0]) and one cluster per later interval; the head (``head``, a Linear to
    shortlist + one entry per cluster) scores the shortlist and each cluster's total, cluster i
    (``tail[i]``, Linear(in, in // div_value**(i+1)) then Linear to the cluster's size, no
    biases) scores the classes inside it. Submodules, parameter names and init order are
    torch's, so state_dicts load both ways and ``manual_seed`` gives the same weights.
    ``forward`` returns ``_ASMoutput(output, loss)``; ``log_prob`` and ``predict`` cover all
    classes.
    """

    in_features: int
    n_classes: int
    cutoffs: list
    div_value: float
    head_bias: bool

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        cutoffs: Sequence[int],
        div_value: float = 4.0,
        head_bias: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if not cutoffs:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        valid = (
            cutoffs == sorted(cutoffs)
            and min(cutoffs) > 0
            and max(cutoffs) <= n_classes - 1
            and len(set(cutoffs)) == len(cutoffs)
            and all(int(c) == c for c in cutoffs)
        )
        if not valid:
            raise ValueError(
                "cutoffs should be a sequence of unique, positive integers sorted in an "
                "increasing order, where each value is between 1 and n_classes-1"
            )
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        kw = dict(device=device, dtype=dtype)
        self.head = Linear(in_features, self.head_size, bias=head_bias, **kw)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(
                Sequential(
                    Linear(in_features, hidden, bias=False, **kw),
                    Linear(hidden, size, bias=False, **kw),
                )
            )

    def reset_parameters(self) -> None:
        """Re-draw every weight as at construction (head first, then each cluster's pair)."""
        self.head.reset_parameters()
        for proj, out in self.tail:
            proj.reset_parameters()
            out.reset_parameters()

    def forward(self, input_: Tensor, target_: Tensor) -> _ASMoutput:
        """Log-probability of each target (N,) or () and their mean negative, as torch."""
        tdim = target_.dim()
        if tdim == 1:
            if input_.size(0) != target_.size(0):
                raise RuntimeError(
                    "Input and target should have the same size in the batch dimension."
                )
            if input_.dim() != 2:
                raise RuntimeError(
                    "1D target tensor expects 2D input tensors, but found inputs with size "
                    f"{input_.size()}"
                )
        elif tdim == 0:
            if input_.dim() != 1:
                raise RuntimeError(
                    "0D target tensor expects 1D input tensors, but found inputs with size "
                    f"{input_.size()}"
                )
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = tdim == 1
        input = input_ if batched else input_.unsqueeze(0)
        target = target_ if batched else target_.unsqueeze(0)
        n = target.size(0)

        # the head column each row reads: the class itself in the shortlist, else its
        # cluster's entry; inside a cluster the row also gets the class's log-probability
        # there (0 in the shortlist), added to the head's as torch adds them
        head_col = target
        in_cluster = input.new_zeros(n)
        bounds = [0] + self.cutoffs
        covered = 0
        for i in range(len(bounds) - 1):
            lo, hi = bounds[i], bounds[i + 1]
            rows = ((target >= lo) & (target < hi)).nonzero().view(-1)
            if rows.numel() == 0:
                continue
            covered += rows.numel()
            if i == 0:
                continue
            head_col = head_col.index_fill(0, rows, self.shortlist_size + i - 1)
            logp = F.log_softmax(self.tail[i - 1](input.index_select(0, rows)), dim=1)
            local = (target.index_select(0, rows) - lo).unsqueeze(1)
            in_cluster = in_cluster.index_copy(0, rows, logp.gather(1, local).squeeze(1))
        if covered != n:
            raise RuntimeError(
                f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                f"[{target.min().item()}, {target.max().item()}] were found. "
            )
        head_logp = F.log_softmax(self.head(input), dim=1)
        output = in_cluster + head_logp.gather(1, head_col.unsqueeze(1)).squeeze(1)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _get_full_log_prob(self, input: Tensor, head_output: Tensor) -> Tensor:
        """Log-probabilities of all classes (N, n_classes) from the input and head's output."""
        head_logp = F.log_softmax(head_output, dim=1)
        parts = [head_logp[:, : self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_logp = F.log_softmax(self.tail[i](input), dim=1)
            entry = self.shortlist_size + i
            parts.append(cluster_logp + head_logp[:, entry : entry + 1])
        return cat(parts, 1)

    def log_prob(self, input: Tensor) -> Tensor:
        """Log-probabilities of all n_classes classes for each row of ``input`` (N, in)."""
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:
        """The most probable class of each row, as ``log_prob(input).argmax(1)``; rows whose
        head prefers a shortlist class skip the clusters."""
        head_output = self.head(input)
        best = head_output.argmax(dim=1)
        far = best >= self.shortlist_size  # rows whose best head entry is a cluster's
        if not far.any():
            return best
        if far.all():
            return self._get_full_log_prob(input, head_output).argmax(dim=1)
        best[far] = self._get_full_log_prob(input[far], head_output[far]).argmax(dim=1)
        return best
