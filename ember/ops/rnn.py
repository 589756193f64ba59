"""The fused recurrent ops behind nn.RNN/LSTM/GRU: LSTM and GRU cells and whole layers as
single Ops with hand-written backward, and one plain-RNN/LSTM/GRU time step."""

from __future__ import annotations

import numpy as np

from .._backend.cpu import extrema, gemm, jit
from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Tensor
from . import _bw
from .join import stack
from .linear import linear
from .unary import relu, tanh


def _sig(a):
    xp = xp_of(a)
    y = xp.negative(a)
    extrema.with_number(xp.minimum, y, 88.0 if a.dtype.itemsize <= 4 else 709.0, y)
    xp.exp(y, out=y)
    y += 1
    xp.divide(1.0, y, out=y)  # twice as fast as reciprocal (see unary.sigmoid_cpu)
    return y


def _swap(a):
    """A (T, A, B) array as a C-ordered (T, B, A) one: a sequence crossing between the
    caller's (T, N, features) layout and the layers' transposed (T, features, N) one."""
    return xp_of(a).ascontiguousarray(a.transpose(0, 2, 1))


def _slots(T: int, reverse: bool):
    """Where a layer's (T + 1)-slot state buffers put its steps: step t reads slot t + rd and
    writes slot t + wr ((rd, wr) = (0, 1), or (1, 0) in reverse), so the initial state sits in
    slot T rd and the final one in slot T wr. Returns (rd, wr, the forward's step order); the
    backward walks that order reversed."""
    if reverse:
        return 1, 0, range(T - 1, -1, -1)
    return 0, 1, range(T)


def _weight_grads(d2, hprev, need_w: bool, need_b: bool):
    """The recurrent weight's and bias's gradients from the (T N, G) gradients of W h + b and
    the (T, N, H) states entering each step (one step: (N, G) and (N, H)): one product and
    one column sum over all steps."""
    dw = d2.T @ hprev.reshape(-1, hprev.shape[-1]) if need_w else None
    db = xp_of(d2).ones(d2.shape[0], d2.dtype) @ d2 if need_b else None
    return dw, db


class _LSTMCell(Op):
    """One LSTM step from the input projection (x W_ih^T + b_ih) in one node: gates, the new
    cell and hidden state; backward by hand."""

    save_in = (0,)  # for create_graph=True: the node keeps its inputs
    higher_order = True  # create_graph=True: the recurrence again in Tensor ops

    @staticmethod
    def forward(ctx, gx, h, c, w_hh, b_hh):
        xp = xp_of(gx)
        gates = h @ w_hh.T
        gates += gx
        if b_hh is not None:
            gates += b_hh
        H = h.shape[-1]
        i = _sig(gates[:, :H])
        f = _sig(gates[:, H : 2 * H])
        g = xp.tanh(gates[:, 2 * H : 3 * H])
        o = _sig(gates[:, 3 * H :])
        c2 = f * c
        c2 += i * g
        tc = xp.tanh(c2)
        ctx.saved = (i, f, g, o, c, tc, h, w_hh)
        ctx.has_b = b_hh is not None
        return o * tc, c2

    @staticmethod
    def backward(ctx, gh, gc):
        if _graph((gh, gc)):  # create_graph=True
            return _bw.regrad(ctx, _lstm_cell_graph, (gh, gc))
        xp = xp_of(gh)
        i, f, g, o, c, tc, h, w_hh = ctx.saved
        dc = gh * o
        dc *= 1 - tc * tc
        dc += gc
        dgates = xp.concatenate(
            [
                dc * g * i * (1 - i),
                dc * c * f * (1 - f),
                dc * i * (1 - g * g),
                gh * tc * o * (1 - o),
            ],
            axis=1,
        )
        n = ctx._needs
        dh = dgates @ w_hh if n[1] else None
        dw, db = _weight_grads(dgates, h, n[3], ctx.has_b and n[4])
        return dgates, dh, dc * f, dw, db


class _GRUCell(Op):
    """One GRU step from the input projection in one node; backward by hand."""

    save_in = (0,)  # for create_graph=True: the node keeps its inputs
    higher_order = True  # create_graph=True: the recurrence again in Tensor ops

    @staticmethod
    def forward(ctx, gx, h, w_hh, b_hh):
        xp = xp_of(gx)
        hp = h @ w_hh.T
        if b_hh is not None:
            hp += b_hh
        H = h.shape[-1]
        r = _sig(gx[:, :H] + hp[:, :H])
        z = _sig(gx[:, H : 2 * H] + hp[:, H : 2 * H])
        hn = hp[:, 2 * H :]
        n = xp.tanh(gx[:, 2 * H :] + r * hn)
        ctx.saved = (r, z, n, hn, h, w_hh)
        ctx.has_b = b_hh is not None
        return n + z * (h - n)

    @staticmethod
    def backward(ctx, gh):
        if isinstance(gh, Tensor):  # create_graph=True
            return _bw.regrad(ctx, _gru_cell_graph, gh)
        xp = xp_of(gh)
        r, z, n, hn, h, w_hh = ctx.saved
        dn = gh * (1 - z) * (1 - n * n)
        dz = gh * (h - n) * z * (1 - z)
        dr = dn * hn * r * (1 - r)
        dgx = xp.concatenate([dr, dz, dn], axis=1)
        dhp = xp.concatenate([dr, dz, dn * r], axis=1)
        nd = ctx._needs
        dh = gh * z + dhp @ w_hh if nd[1] else None
        dw, db = _weight_grads(dhp, h, nd[2], ctx.has_b and nd[3])
        return dgx, dh, dw, db


# --- the recurrences as Tensor ops, for create_graph=True: each op's backward runs on arrays;
# differentiating these instead gives gradients that can be differentiated again


def _graph(g) -> bool:
    """Whether a backward's incoming gradients are Tensors (create_graph=True)."""
    return any(isinstance(e, Tensor) for e in g)


def _lstm_cell_graph(gx, h, c, w_hh, b_hh):
    gates = gx + h @ w_hh.t()
    if b_hh is not None:
        gates = gates + b_hh
    H = h.shape[-1]
    i, f = gates[:, :H].sigmoid(), gates[:, H : 2 * H].sigmoid()
    g, o = gates[:, 2 * H : 3 * H].tanh(), gates[:, 3 * H :].sigmoid()
    c = f * c + i * g
    return o * c.tanh(), c


def _gru_cell_graph(gx, h, w_hh, b_hh):
    hp = h @ w_hh.t()
    if b_hh is not None:
        hp = hp + b_hh
    H = h.shape[-1]
    r = (gx[:, :H] + hp[:, :H]).sigmoid()
    z = (gx[:, H : 2 * H] + hp[:, H : 2 * H]).sigmoid()
    n = (gx[:, 2 * H :] + r * hp[:, 2 * H :]).tanh()
    return n + z * (h - n)


def _layer_graph(step, proj, state, reverse):
    """A layer over the sequence from ``step(x_t, state) -> (output, state)``: (outputs in
    time order, final state)."""
    T = proj.shape[0]
    outs = [None] * T
    for t in _slots(T, reverse)[2]:
        outs[t], state = step(proj[t], state)
    return stack(outs, 0), state


def _lstm_layer_graph(proj, h, c, w_hh, b_hh, reverse):
    def step(x, hc):
        h2, c2 = _lstm_cell_graph(x, hc[0], hc[1], w_hh, b_hh)
        return h2, (h2, c2)

    seq, (hT, cT) = _layer_graph(step, proj, (h, c), reverse)
    return seq, hT, cT


def _gru_layer_graph(proj, h, w_hh, b_hh, reverse):
    def step(x, hh):
        h2 = _gru_cell_graph(x, hh, w_hh, b_hh)
        return h2, h2

    return _layer_graph(step, proj, h, reverse)


def _rnn_layer_graph(proj, h, w_hh, b_hh, reverse, use_relu):
    def step(x, hh):
        a = x + hh @ w_hh.t()
        if b_hh is not None:
            a = a + b_hh
        h2 = a.relu() if use_relu else a.tanh()
        return h2, h2

    return _layer_graph(step, proj, h, reverse)


_F32 = np.dtype(np.float32)
_ONE32 = np.float32(1.0)


@jit.kernel
def _lstm_bw_loop(t, acts, cprev, tcs, gout, dh, dc, dg, dproj):
    """Step t of ``_LSTMLayer``'s backward before its product, the NumPy path's operations in
    its order (the same bits): the output's gradient ``gout[t]`` (read transposed) joins
    ``dh``; the cell's gradient ``dc``; the four gates' pre-activation gradients into ``dg``
    (4H, N), the product's operand, and into ``dproj[t]`` (N, 4H), the layer's input
    gradient, so that no pass transposes them afterwards; ``dc`` carried through the forget
    gate."""
    H, N = dh.shape[0], dh.shape[1]
    for k in range(H):
        for n in range(N):
            i = acts[t, k, n]
            f = acts[t, H + k, n]
            g = acts[t, 2 * H + k, n]
            o = acts[t, 3 * H + k, n]
            tc = tcs[t, k, n]
            h = dh[k, n] + gout[t, n, k]
            c = dc[k, n] + h * (o * (_ONE32 - tc * tc))
            di = c * (g * (i * (_ONE32 - i)))
            df = c * (cprev[t, k, n] * (f * (_ONE32 - f)))
            dgg = c * (i * (_ONE32 - g * g))
            do = h * ((tc * o) * (_ONE32 - o))
            dg[k, n] = di
            dg[H + k, n] = df
            dg[2 * H + k, n] = dgg
            dg[3 * H + k, n] = do
            dproj[t, n, k] = di
            dproj[t, n, H + k] = df
            dproj[t, n, 2 * H + k] = dgg
            dproj[t, n, 3 * H + k] = do
            dc[k, n] = c * f


class _LSTMLayer(Op):
    """A whole LSTM layer (one direction) over the sequence in one node: the forward keeps
    the gates per step, the backward runs the recurrence in reverse and forms the recurrent
    weight gradient with a single matrix product.

    The three sigmoid gates come from the same tanh pass as the cell gate, as
    sigmoid(x) = (1 + tanh(x / 2)) / 2: the i, f, o rows of the recurrent weight and their
    columns of the input projection are halved once (exact in binary floating point), so each
    step takes one tanh over all 4H gates and two affine passes per sigmoid block, 11 array
    passes in all instead of 21.

    The recurrence runs transposed: states are (H, N) and gates (4H, N), so a step's product is
    W_hh (4H, H) @ h (H, N) and every gate block is a contiguous run of rows. OpenBLAS splits
    that product's 4H rows over its threads far better than the (N, H) @ (H, 4H) form's N rows:
    measured for the word-language-model benchmark's LSTM ((20, 200) states, 2026-12-05,
    2-core AVX-512 EPYC) 45 us a step on two threads against 54 (the (N, 4H) form) and 80 on
    one, and 35 steps' forward 3.8 ms against 5.6 ms on one thread. The states of all steps live in
    (T + 1)-step buffers, so a step reads its predecessor without a copy; the sequence's input
    and output cross between the layouts once, outside the loop."""

    save_in = (0,)  # for create_graph=True: the node keeps its inputs
    higher_order = True  # create_graph=True: the recurrence again in Tensor ops

    @staticmethod
    def forward(ctx, proj, h, c, w_hh, b_hh, reverse):
        xp = xp_of(proj)
        T, N = proj.shape[0], proj.shape[1]
        H = h.shape[-1]
        dt = proj.dtype
        # the gate pre-activations' input part, transposed to (T, 4H, N), with the recurrent
        # bias added and the sigmoid blocks halved, once for all steps
        half = xp.full((4 * H, 1), 0.5, dt)
        half[2 * H : 3 * H] = 1
        px = xp.multiply(proj.transpose(0, 2, 1), half)
        if b_hh is not None:
            px += b_hh[:, None] * half
        wh = w_hh * half  # (4H, H), C-ordered
        hbuf = xp.empty((T + 1, H, N), dt)  # the hidden state entering / leaving each step
        cbuf = xp.empty((T + 1, H, N), dt)
        acts = xp.empty((T, 4 * H, N), dt)  # i, f, g, o after their nonlinearities
        tcs = xp.empty((T, H, N), dt)
        ig = xp.empty((H, N), dt)
        rd, wr, order = _slots(T, reverse)
        hbuf[T * rd] = h.T
        cbuf[T * rd] = c.T
        with gemm.guard():  # off OpenBLAS's threads only where ember's own ran just now
            for t in order:
                cp = cbuf[t + rd]
                a = acts[t]  # the gates are computed in place, in the saved buffer
                xp.matmul(wh, hbuf[t + rd], out=a)
                a += px[t]
                xp.tanh(a, out=a)
                s2 = a[: 2 * H]
                s2 *= 0.5
                s2 += 0.5
                so = a[3 * H :]
                so *= 0.5
                so += 0.5
                cn = cbuf[t + wr]
                xp.multiply(a[H : 2 * H], cp, out=cn)
                xp.multiply(a[:H], a[2 * H : 3 * H], out=ig)
                cn += ig
                xp.tanh(cn, out=tcs[t])
                xp.multiply(so, tcs[t], out=hbuf[t + wr])
        # every step's state in the (T + 1, N, H) layout: the output, and the backward's
        # weight-gradient product
        hstd = _swap(hbuf)
        hs, hprev, cprev, last = hstd[wr : T + wr], hstd[rd : T + rd], cbuf[rd : T + rd], T * wr
        ctx.saved = (acts, cprev, tcs, hprev, w_hh)
        ctx.has_b = b_hh is not None
        ctx.reverse = reverse
        # the output is a copy: an in-place change to it must not reach the saved states
        return hs.copy(), hstd[last].copy(), xp.ascontiguousarray(cbuf[last].T)

    @staticmethod
    def backward(ctx, gout, ghT, gcT):
        if _graph((gout, ghT, gcT)):  # create_graph=True
            return _bw.regrad(ctx, _lstm_layer_graph, (gout, ghT, gcT))
        xp = xp_of(gout)
        acts, cprev, tcs, hprev, w_hh = ctx.saved
        T, N = acts.shape[0], acts.shape[2]
        H = tcs.shape[1]
        if xp is np and acts.dtype == _F32 and gout.dtype == _F32 and jit.available():
            r = _LSTMLayer._backward_jit(ctx, gout, ghT, gcT)
            if r is not None:
                return r
        a4 = acts.reshape(T, 4, H, N)
        i, f, g, o = a4[:, 0], a4[:, 1], a4[:, 2], a4[:, 3]
        # every factor that does not depend on the incoming gradients, for all steps at once
        # (a few large passes instead of many small ones inside the loop)
        ot = o * (1 - tcs * tcs)  # d c / d h through tanh(c) and the output gate
        p3 = xp.empty((T, 3, H, N), acts.dtype)  # d gate pre-activation / d c, for i, f, g
        xp.multiply(g, i * (1 - i), out=p3[:, 0])
        xp.multiply(cprev, f * (1 - f), out=p3[:, 1])
        xp.multiply(i, 1 - g * g, out=p3[:, 2])
        po = tcs * o * (1 - o)  # d o pre-activation / d h
        gt = _swap(gout)  # (T, H, N)
        whT = xp.ascontiguousarray(w_hh.T)  # (H, 4H)
        dgates = xp.empty_like(acts)
        d4 = dgates.reshape(T, 4, H, N)
        dh = xp.ascontiguousarray(ghT.T)
        dc = xp.ascontiguousarray(gcT.T)
        tmp = xp.empty_like(dc)
        with gemm.guard():
            for t in reversed(_slots(T, ctx.reverse)[2]):
                dh += gt[t]
                xp.multiply(dh, ot[t], out=tmp)
                dc += tmp
                xp.multiply(dc, p3[t], out=d4[t, :3])
                xp.multiply(dh, po[t], out=d4[t, 3])
                dh = whT @ dgates[t]
                dc *= f[t]
        return _LSTMLayer._grads(ctx, _swap(dgates), dh, dc)  # dproj: (T, N, 4H)

    @staticmethod
    def _grads(ctx, dproj, dh, dc):
        """The backward's result from the gates' gradients (T, N, 4H) and the (H, N) gradients
        of the state entering the sequence: the weight's and bias's gradients added."""
        xp = xp_of(dproj)
        hprev = ctx.saved[3]
        n = ctx._needs
        G = dproj.shape[-1]
        dw, db = _weight_grads(dproj.reshape(-1, G), hprev, n[3], ctx.has_b and n[4])
        return dproj, xp.ascontiguousarray(dh.T), xp.ascontiguousarray(dc.T), dw, db, None

    @staticmethod
    def _backward_jit(ctx, gout, ghT, gcT):
        """The backward with each step's elementwise part in ``_lstm_bw_loop`` (the NumPy
        path's bits); None where the loop cannot run. The loop replaces the NumPy path's
        factor passes before the recurrence, its five calls a step and the transposes of the
        output's and the gates' gradients: about 34 us a step against 12.5 (one 200-wide
        layer, 20 rows). Alternating in one process (2026-12-05), the word model's 2-layer
        LSTM forward + backward 25.8-27.9 -> 24.8-25.0 ms, its training step 82.7-84.8 ->
        80.8-83.6 ms. The forward stays on NumPy: a step loop there (with a vectorised tanh)
        was 18 against 23 us a step, but it needs the input part in C order, whose
        transposing pass cost as much again."""
        acts, cprev, tcs, hprev, w_hh = ctx.saved
        T, N = acts.shape[0], acts.shape[2]
        H = tcs.shape[1]
        whT = np.ascontiguousarray(w_hh.T)  # (H, 4H)
        dproj = np.empty((T, N, 4 * H), _F32)
        dg = np.empty((4 * H, N), _F32)
        dh = np.array(ghT.T, _F32, order="C")
        dc = np.array(gcT.T, _F32, order="C")
        step = _lstm_bw_loop.run
        with gemm.guard():
            for t in reversed(_slots(T, ctx.reverse)[2]):
                if not step(t, acts, cprev, tcs, gout, dh, dc, dg, dproj):
                    return None  # the loop cannot run (the first step): the NumPy steps
                np.matmul(whT, dg, out=dh)
        return _LSTMLayer._grads(ctx, dproj, dh, dc)


class _RNNLayer(Op):
    """A whole plain-RNN layer (one direction; tanh, or relu with ``relu``) in one node, run
    transposed as ``_LSTMLayer``: h_t = act(W_hh h_{t-1} + x_t W_ih^T + b), states (H, N), the
    step's product on OpenBLAS's threads. As one op per step (a linear, an add and the
    activation) the 2-layer 200-wide, 35 x 20 RNN took 4.6-6.0 ms forward and 8.3-9.1 backward
    against torch's 3.3-3.5 and 6.5-7.0; fused, 2.8-4.0 and 4.2-6.4 (2026-12-05, alternating
    processes)."""

    save_in = (0,)  # for create_graph=True: the node keeps its inputs
    higher_order = True  # create_graph=True: the recurrence again in Tensor ops

    @staticmethod
    def forward(ctx, proj, h, w_hh, b_hh, reverse, use_relu):
        xp = xp_of(proj)
        T, N = proj.shape[0], proj.shape[1]
        H = h.shape[-1]
        px = _swap(proj)  # (T, H, N)
        if b_hh is not None:
            px += b_hh[:, None]
        hbuf = xp.empty((T + 1, H, N), proj.dtype)  # the state entering / leaving each step
        rd, wr, order = _slots(T, reverse)
        hbuf[T * rd] = h.T
        with gemm.guard():  # off OpenBLAS's threads only where ember's own ran just now
            for t in order:
                a = hbuf[t + wr]
                xp.matmul(w_hh, hbuf[t + rd], out=a)
                a += px[t]
                if use_relu:
                    extrema.with_number(xp.maximum, a, 0.0, a)
                else:
                    xp.tanh(a, out=a)
        hstd = _swap(hbuf)  # (T + 1, N, H)
        ys, hs, hprev, last = hbuf[wr : T + wr], hstd[wr : T + wr], hstd[rd : T + rd], T * wr
        ctx.saved = (ys, hprev, w_hh)
        ctx.has_b = b_hh is not None
        ctx.reverse = reverse
        ctx.relu = use_relu
        # the outputs are copies: an in-place change to them must not reach the saved states
        return hs.copy(), hstd[last].copy()

    @staticmethod
    def backward(ctx, gout, ghT):
        if _graph((gout, ghT)):  # create_graph=True
            return _bw.regrad(ctx, _rnn_layer_graph, (gout, ghT))
        xp = xp_of(gout)
        ys, hprev, w_hh = ctx.saved
        T, H = ys.shape[0], ys.shape[1]
        # d h_t / d pre-activation, for all steps at once: 1 - y^2, or y > 0 (torch's
        # threshold_backward: 0 where the output is 0)
        der = (ys > 0).astype(ys.dtype) if ctx.relu else 1 - ys * ys
        gt = _swap(gout)  # (T, H, N)
        whT = xp.ascontiguousarray(w_hh.T)
        dpre = xp.empty_like(ys)
        dh = xp.ascontiguousarray(ghT.T)
        with gemm.guard():
            for t in reversed(_slots(T, ctx.reverse)[2]):
                dh += gt[t]
                xp.multiply(dh, der[t], out=dpre[t])
                dh = whT @ dpre[t]
        dproj = _swap(dpre)  # (T, N, H)
        n = ctx._needs
        dw, db = _weight_grads(dproj.reshape(-1, H), hprev, n[2], ctx.has_b and n[3])
        return dproj, xp.ascontiguousarray(dh.T), dw, db, None, None


class _GRULayer(Op):
    """A whole GRU layer (one direction) in one node, backward by hand, run transposed as
    ``_LSTMLayer``: states (H + 1, N) whose last row is ones, so W_hh (3H, H) and b_hh join in
    one (3H, H + 1) matrix and a step's product W h + b is one GEMM on OpenBLAS's threads. The
    r and z rows (and their input parts) are halved once so that their sigmoids come from one
    tanh pass, as the LSTM's gates. The 2-layer 200-wide GRU on 35 x 20 steps, alternating
    processes (2026-12-05): forward 8.6-9.0 -> 7.7-7.8 ms, backward 12.8-13.5 -> 12.8-13.4
    (per-step allocations gone; torch 9.5 / 19.3)."""

    save_in = (0,)  # for create_graph=True: the node keeps its inputs
    higher_order = True  # create_graph=True: the recurrence again in Tensor ops

    @staticmethod
    def forward(ctx, proj, h, w_hh, b_hh, reverse):
        xp = xp_of(proj)
        T, N = proj.shape[0], proj.shape[1]
        H = h.shape[-1]
        dt = proj.dtype
        half = xp.full((3 * H, 1), 0.5, dt)
        half[2 * H :] = 1
        px = xp.multiply(proj.transpose(0, 2, 1), half)  # (T, 3H, N), r and z halved
        wa = xp.empty((3 * H, H + 1), dt)
        xp.multiply(w_hh, half, out=wa[:, :H])
        if b_hh is not None:
            xp.multiply(b_hh, half[:, 0], out=wa[:, H])
        else:
            wa[:, H] = 0
        hbuf = xp.empty((T + 1, H + 1, N), dt)  # the state entering / leaving each step, + ones
        hbuf[:, H] = 1
        rd, wr, order = _slots(T, reverse)
        hbuf[T * rd, :H] = h.T
        hp = xp.empty((T, 3 * H, N), dt)  # W h + b per step (r, z halved); its n rows are saved
        rz = xp.empty((T, 2 * H, N), dt)
        ns = xp.empty((T, H, N), dt)
        with gemm.guard():  # off OpenBLAS's threads only where ember's own ran just now
            for t in order:
                hcur = hbuf[t + rd]
                a = hp[t]
                xp.matmul(wa, hcur, out=a)
                g = rz[t]
                xp.add(a[: 2 * H], px[t, : 2 * H], out=g)
                xp.tanh(g, out=g)
                g *= 0.5
                g += 0.5
                n = ns[t]
                xp.multiply(g[:H], a[2 * H :], out=n)
                n += px[t, 2 * H :]
                xp.tanh(n, out=n)
                hn = hbuf[t + wr, :H]
                xp.subtract(hcur[:H], n, out=hn)
                hn *= g[H:]
                hn += n
        hstd = _swap(hbuf[:, :H])  # (T + 1, N, H)
        hs, hprev, last = hstd[wr : T + wr], hstd[rd : T + rd], T * wr
        ctx.saved = (rz, ns, hp, hprev, w_hh)
        ctx.has_b = b_hh is not None
        ctx.reverse = reverse
        # the outputs are copies: an in-place change to them must not reach the saved states
        return hs.copy(), hstd[last].copy()

    @staticmethod
    def backward(ctx, gout, ghT):
        if _graph((gout, ghT)):  # create_graph=True
            return _bw.regrad(ctx, _gru_layer_graph, (gout, ghT))
        xp = xp_of(gout)
        rz, ns, hp, hprev, w_hh = ctx.saved
        T, H = ns.shape[0], ns.shape[1]
        r, z, hn = rz[:, :H], rz[:, H:], hp[:, 2 * H :]
        # the factors that do not depend on the incoming gradients, for all steps at once
        fa = (1 - z) * (1 - ns * ns)  # dn = dh * fa
        fb = (hprev.transpose(0, 2, 1) - ns) * z * (1 - z)  # dz = dh * fb
        fc = hn * r * (1 - r)  # dr = dn * fc
        gt = _swap(gout)  # (T, H, N)
        whT = xp.ascontiguousarray(w_hh.T)  # (H, 3H)
        dgx = xp.empty_like(hp)  # the input projection's gradient: dr, dz, dn
        dhp = xp.empty_like(hp)  # W h + b's: dr, dz, dn * r
        dh = xp.ascontiguousarray(ghT.T)
        tmp = xp.empty_like(dh)
        with gemm.guard():
            for t in reversed(_slots(T, ctx.reverse)[2]):
                dh += gt[t]
                dn = dgx[t, 2 * H :]
                xp.multiply(dh, fa[t], out=dn)
                xp.multiply(dh, fb[t], out=dgx[t, H : 2 * H])
                xp.multiply(dn, fc[t], out=dgx[t, :H])
                dhp[t, : 2 * H] = dgx[t, : 2 * H]
                xp.multiply(dn, r[t], out=dhp[t, 2 * H :])
                xp.matmul(whT, dhp[t], out=tmp)
                dh *= z[t]
                dh += tmp
        dproj = _swap(dgx)  # (T, N, 3H)
        nd = ctx._needs
        dw, db = _weight_grads(_swap(dhp).reshape(-1, 3 * H), hprev, nd[2], ctx.has_b and nd[3])
        return dproj, xp.ascontiguousarray(dh.T), dw, db, None


def rnn_step(mode: str, x_proj: Tensor, h, w_hh: Tensor, b_hh):
    """One time step given the input projection x W_ih^T + b_ih; returns the new state."""
    if mode == "LSTM":
        hx, cx = h
        return _LSTMCell.apply(x_proj, hx, cx, w_hh, b_hh)
    if mode == "GRU":
        return _GRUCell.apply(x_proj, h, w_hh, b_hh)
    pre = x_proj + linear(h, w_hh, b_hh)
    return tanh(pre) if mode == "RNN_TANH" else relu(pre)
