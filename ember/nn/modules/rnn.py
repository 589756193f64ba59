"""Recurrent layers: RNN, LSTM, GRU and their cells, with torch's parameter names, shapes,
initialisation and (seq, batch, feature) / batch_first conventions."""

from __future__ import annotations

import math
import warnings

from ...ops.creation import empty, zeros
from ...ops.join import cat, stack
from ...ops.rnn import _GRULayer, _LSTMLayer, _RNNLayer, rnn_step
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU: multi-layer, optionally bidirectional."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the "
                "probability of an element being zeroed"
            )
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError("hidden_size must be an integer greater than zero")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError("num_layers must be an integer greater than zero")
        if proj_size:
            raise NotImplementedError("ember's LSTM does not support proj_size yet")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so "
                "non-zero dropout expects num_layers greater than 1, but got "
                f"dropout={dropout} and num_layers={num_layers}",
                stacklevel=2,
            )
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dirs = 2 if bidirectional else 1
        gate = _GATES[mode] * hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            for d in range(dirs):
                in_size = input_size if layer == 0 else hidden_size * dirs
                sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
                names = [f"weight_ih{sfx}", f"weight_hh{sfx}"]
                shapes = [(gate, in_size), (gate, hidden_size)]
                if bias:
                    names += [f"bias_ih{sfx}", f"bias_hh{sfx}"]
                    shapes += [(gate,), (gate,)]
                for n, s in zip(names, shapes):
                    setattr(self, n, Parameter(empty(s, device=device, dtype=dtype)))
                self._flat_weights_names.extend(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        std = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -std, std)

    @property
    def all_weights(self) -> list:
        """The weights grouped per layer and direction."""
        return [
            [getattr(self, n) for n in self._flat_weights_names[i : i + (4 if self.bias else 2)]]
            for i in range(0, len(self._flat_weights_names), 4 if self.bias else 2)
        ]

    def flatten_parameters(self) -> None:
        """No-op (weights are already separate arrays)."""
        return None

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    def _weights(self, layer: int, d: int):
        sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
        g = self.__dict__
        return (
            g[f"weight_ih{sfx}"],
            g[f"weight_hh{sfx}"],
            g.get(f"bias_ih{sfx}"),
            g.get(f"bias_hh{sfx}"),
        )

    def _all_layer_weights(self) -> list:
        dirs = 2 if self.bidirectional else 1
        return [self._weights(layer, d) for layer in range(self.num_layers) for d in range(dirs)]

    def forward(self, input: Tensor, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        lstm = self.mode == "LSTM"
        unbatched = input.dim() == 2
        if input.dim() not in (2, 3):
            raise ValueError(
                f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                f"{input.dim()}D tensor instead"
            )
        x = (
            input.unsqueeze(1)
            if unbatched
            else (input.transpose(0, 1) if self.batch_first else input)
        )
        if x.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {x.shape[-1]}"
            )
        dirs = 2 if self.bidirectional else 1
        N = x.shape[1]
        if hx is None:
            z = zeros(self.num_layers * dirs, N, self.hidden_size, dtype=x.dtype, device=x.device)
            hx = (z, z) if lstm else z
        elif unbatched:
            hx = tuple(h.unsqueeze(1) for h in hx) if lstm else hx.unsqueeze(1)
        out, h_n, c_n = run_layers(
            self.mode, x, hx, self._all_layer_weights(), self.dropout, self.training, dirs
        )
        if unbatched:
            out = out.squeeze(1)
            h_n = h_n.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if lstm:
            return out, (h_n, c_n.squeeze(1) if unbatched else c_n)
        return out, h_n

    def _forward_packed(self, input: PackedSequence, hx=None):
        """The forward over a PackedSequence: each sequence runs for its own length, so the
        returned state is each one's state at its last real step (as torch)."""
        lstm = self.mode == "LSTM"
        data = input.data
        if data.dim() != 2:
            raise ValueError(
                f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                f"{data.dim() + 1}D tensor instead"
            )
        if data.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {data.shape[-1]}"
            )
        bsizes = [int(b) for b in input.batch_sizes.tolist()]
        dirs = 2 if self.bidirectional else 1
        N = bsizes[0]
        perm, unperm = input.sorted_indices, input.unsorted_indices
        if hx is None:
            z = zeros(
                self.num_layers * dirs, N, self.hidden_size, dtype=data.dtype, device=data.device
            )
            hx = (z, z) if lstm else z
        elif perm is not None:
            # the caller's state is in batch order; the packed data is in sorted order
            hx = tuple(h.index_select(1, perm) for h in hx) if lstm else hx.index_select(1, perm)
        weights = self._all_layer_weights()
        out_data, h_n, c_n = run_layers(
            self.mode, data, hx, weights, self.dropout, self.training, dirs, bsizes
        )
        out = PackedSequence(out_data, input.batch_sizes, perm, unperm)
        if unperm is not None:
            h_n = h_n.index_select(1, unperm)
        if lstm:
            if unperm is not None:
                c_n = c_n.index_select(1, unperm)
            return out, (h_n, c_n)
        return out, h_n


def _rows(h, start: int, stop: int):
    return tuple(x[start:stop] for x in h) if isinstance(h, tuple) else h[start:stop]


def _cat_rows(parts: list):
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], tuple):
        return tuple(cat([p[i] for p in parts], 0) for i in range(len(parts[0])))
    return cat(parts, 0)


def _packed_direction(mode, proj, bsizes, offsets, h0, w_hh, b_hh, reverse: bool):
    """Run one direction of one layer over packed rows; returns (outputs as packed rows, final
    state of every sequence in sorted order)."""
    T = len(bsizes)
    outs = [None] * T
    if not reverse:
        # sequences end from the back of the batch: set finished rows aside as they stop
        h, cur, done = h0, bsizes[0], []
        for t in range(T):
            bs = bsizes[t]
            if bs < cur:
                done.append(_rows(h, bs, cur))
                h, cur = _rows(h, 0, bs), bs
            h = rnn_step(mode, proj[offsets[t] : offsets[t] + bs], h, w_hh, b_hh)
            outs[t] = h[0] if isinstance(h, tuple) else h
        final = _cat_rows([h] + done[::-1])
    else:
        # backwards in time sequences join as their last step comes, from their initial state
        cur = bsizes[-1]
        h = _rows(h0, 0, cur)
        for t in range(T - 1, -1, -1):
            bs = bsizes[t]
            if bs > cur:
                h, cur = _cat_rows([h, _rows(h0, cur, bs)]), bs
            h = rnn_step(mode, proj[offsets[t] : offsets[t] + bs], h, w_hh, b_hh)
            outs[t] = h[0] if isinstance(h, tuple) else h
        final = h
    return cat(outs, 0), final


def _padded_direction(mode: str, proj: Tensor, h, w_hh: Tensor, b_hh, reverse: bool):
    """One direction of one layer over a (T, N, 4H / 3H / H) input projection; returns (outputs,
    final state)."""
    if mode == "LSTM":
        seq, hT, cT = _LSTMLayer.apply(proj, h[0], h[1], w_hh, b_hh, reverse)
        return seq, (hT, cT)
    if mode == "GRU":
        return _GRULayer.apply(proj, h, w_hh, b_hh, reverse)
    return _RNNLayer.apply(proj, h, w_hh, b_hh, reverse, mode == "RNN_RELU")


def run_layers(
    mode: str,
    x: Tensor,
    hx,
    weights: list,
    dropout: float,
    train: bool,
    dirs: int,
    batch_sizes: list | None = None,
):
    """A stacked RNN over a (T, N, F) input from the state ``hx`` ((L * dirs, N, H), a pair of
    them for an LSTM); ``weights`` holds (w_ih, w_hh, b_ih, b_hh) for each layer and direction,
    a bias None when absent; dropout between layers when ``train``. With ``batch_sizes``, ``x``
    is packed rows (sorted order, as ``hx``) and each sequence runs for its own length, its
    state the one at its last real step. Returns (output, h_n, c_n), c_n None unless an LSTM."""
    lstm = mode == "LSTM"
    hx = tuple(hx) if lstm else hx
    if batch_sizes is not None:
        offsets = [0]
        for b in batch_sizes[:-1]:
            offsets.append(offsets[-1] + b)
    finals = []
    layer_in = x
    num_layers = len(weights) // dirs
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            w_ih, w_hh, b_ih, b_hh = weights[k]
            h0 = (hx[0][k], hx[1][k]) if lstm else hx[k]
            proj = F.linear(layer_in, w_ih, b_ih)
            if batch_sizes is None:
                seq, hT = _padded_direction(mode, proj, h0, w_hh, b_hh, d == 1)
            else:
                seq, hT = _packed_direction(
                    mode, proj, batch_sizes, offsets, h0, w_hh, b_hh, d == 1
                )
            outs.append(seq)
            finals.append(hT)
        layer_in = outs[0] if dirs == 1 else cat(outs, -1)
        if dropout > 0 and train and layer < num_layers - 1:
            layer_in = F.dropout(layer_in, dropout, True)
    if lstm:
        return layer_in, stack([f[0] for f in finals], 0), stack([f[1] for f in finals], 0)
    return layer_in, stack(finals, 0), None


class RNN(RNNBase):
    """Elman RNN with tanh or relu."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        self.nonlinearity = nonlinearity
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )


class LSTM(RNNBase):
    """Long short-term memory; returns output, (h_n, c_n)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


class GRU(RNNBase):
    """Gated recurrent unit."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )


class RNNCellBase(Module):
    """Shared parameters of the recurrent cells."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        g = num_chunks * hidden_size
        self.weight_ih = Parameter(empty((g, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(empty((g, hidden_size), device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(g, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(g, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        std = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -std, std)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nl = getattr(self, "nonlinearity", "tanh")
        if nl != "tanh":
            s += f", nonlinearity={nl}"
        return s

    def _run(self, mode: str, input: Tensor, hx):
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input
        if hx is None:
            z = zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
            hx = (z, z) if mode == "LSTM" else z
        elif unbatched:
            hx = tuple(h.unsqueeze(0) for h in hx) if mode == "LSTM" else hx.unsqueeze(0)
        out = rnn_step(
            mode, F.linear(x, self.weight_ih, self.bias_ih), hx, self.weight_hh, self.bias_hh
        )
        if unbatched:
            out = tuple(o.squeeze(0) for o in out) if mode == "LSTM" else out.squeeze(0)
        return out


class RNNCell(RNNCellBase):
    """One step of an Elman RNN."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._run("RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU", input, hx)


class LSTMCell(RNNCellBase):
    """One LSTM step."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx=None):
        return self._run("LSTM", input, hx)


class GRUCell(RNNCellBase):
    """One GRU step."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._run("GRU", input, hx)
