"""Run torch's operator database (op_db) through ember and count the agreement.

    python -m tests.opdb.sweep [--json out.json] [--only NAME ...] [--samples N] [--device cuda]

For every OpInfo with CPU samples it reports whether ember has a counterpart (the same dotted
name on ``ember``, else a Tensor method of that name), whether every forward sample agrees with
torch (values within tolerance, dtypes, shapes; shapes and dtypes only for random ops), and
whether float64 gradients agree for the differentiable ones. It prints the three totals and the
ops that fail, with the first error, so the closing note of an issue can quote them. It needs
torch (the test extra) and takes a few minutes; it is a script, not part of the test suite.
``--device cuda`` puts ember's inputs on the GPU (CuPy) and compares with torch on the CPU, so
one run checks every op's CUDA path; ``--deadline`` stops it after that many seconds.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import warnings

import numpy as np
import torch
from torch.testing._internal.common_methods_invocations import op_db

import ember

RANDOM = {
    "bernoulli", "cauchy", "exponential", "geometric", "log_normal", "normal", "uniform",
    "multinomial", "rand_like", "randn_like", "randint_like", "randint", "randn", "rand",
    "nn.functional.dropout", "nn.functional.dropout2d", "nn.functional.dropout3d",
    "nn.functional.alpha_dropout", "nn.functional.feature_alpha_dropout",
    "nn.functional.rrelu", "poisson", "empty", "empty_like", "new_empty", "empty_strided",
    "new_empty_strided", "empty_permuted", "nn.functional.fractional_max_pool2d",
    "nn.functional.fractional_max_pool3d", "randperm", "torch.empty",
}  # fmt: skip


DEVICE = "cpu"  # where ember's inputs go (--device)


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def _method(name):
    return lambda x, *a, **k: getattr(x, name)(*a, **k)


# OpInfos whose op is a lambda with its own argument order: the same call on ember
LAMBDAS = {
    "einsum": lambda: lambda tensors, eq: ember.einsum(eq, tensors),
    "polygamma": lambda: lambda x, n, **k: ember.polygamma(n, x, **k),
    "special.polygamma": lambda: lambda x, n, **k: ember.special.polygamma(n, x, **k),
    "where": lambda: lambda x, cond, other, **k: ember.where(cond, x, other, **k),
    "nn.functional.embedding": lambda: lambda w, i, **k: ember.nn.functional.embedding(i, w, **k),
    "nn.functional.embedding_bag": (
        lambda: lambda w, i, **k: ember.nn.functional.embedding_bag(i, w, **k)
    ),
    "linalg.lstsq.grad_oriented": (
        lambda: lambda a, b, driver: ember.linalg.lstsq(a, b, driver=driver)[:2]
    ),
    "linalg.pinv.hermitian": None,
    "linalg.pinv.singular": lambda: lambda a, b: ember.linalg.pinv(a @ b.mT),
    "svd_lowrank": lambda: lambda a, b, **k: ember.svd_lowrank(a @ b.mT, **k),
    "_segment_reduce": lambda: ember.segment_reduce,  # the OpInfo's op is torch.segment_reduce
    "pca_lowrank": lambda: lambda a, b, **k: ember.pca_lowrank(a @ b.mT, **k),
    "resize_": lambda: lambda x, shape: x.clone().resize_(shape),
    "resize_as_": lambda: lambda x, other: x.clone().resize_as_(other),
    "zero_": lambda: lambda x: x.clone().zero_(),
    "T": lambda: lambda x: x.T,
    "H": lambda: lambda x: x.H,
    "mT": lambda: lambda x: x.mT,
    "mH": lambda: lambda x: x.mH,
    "item": lambda: _method("item"),
    "cauchy": lambda: _method("cauchy_"),
    "exponential": lambda: _method("exponential_"),
    "geometric": lambda: _method("geometric_"),
    "log_normal": lambda: _method("log_normal_"),
    "uniform": lambda: _method("uniform_"),
    "normal.in_place": lambda: _method("normal_"),
    "normal.number_mean": lambda: lambda std, mean, *a, **k: ember.normal(mean, std, *a, **k),
}


def resolve(info):
    """The ember callable for an OpInfo: fn(sample_input, *args, **kwargs), or None."""
    name = info.name
    key = name + (f".{info.variant_test_name}" if info.variant_test_name else "")
    for k in (key, name):
        if k in LAMBDAS:
            make = LAMBDAS[k]
            if make is None:
                break
            try:
                return make()
            except (AttributeError, NotImplementedError):
                return None
    obj = ember
    for part in name.split("."):
        try:
            obj = getattr(obj, part)
        except (AttributeError, NotImplementedError):
            obj = None
            break
    if obj is not None and callable(obj) and not isinstance(obj, type(ember)):
        return obj
    method = name.split(".")[-1]
    if info.method_variant is not None or name.startswith("__"):
        try:
            if hasattr(ember.zeros(1), method):
                return lambda x, *a, **k: getattr(x, method)(*a, **k)
        except NotImplementedError:
            return None
    return None


def to_ember(x):
    if isinstance(x, torch.Tensor):
        if x.layout != torch.strided:
            raise TypeError("sparse sample")
        a = x.detach()
        if a.dtype == torch.bfloat16:
            t = ember.tensor(a.float().numpy()).to(ember.bfloat16)
        elif _partial_view(a):
            t = _view_of_storage(a)
        else:
            t = ember.tensor(a.numpy().copy())
        if DEVICE != "cpu" and t.device.type != DEVICE:
            t = t.to(DEVICE)
        if x.requires_grad:
            t.requires_grad_(True)
        return t
    if isinstance(x, torch.dtype):
        return getattr(ember, str(x).split(".")[-1])
    if isinstance(x, torch.device):
        return str(x)
    if isinstance(x, torch.Size):
        return tuple(x)
    if isinstance(x, (list, tuple)):
        return type(x)(to_ember(v) for v in x) if not hasattr(x, "_fields") else x
    if isinstance(x, dict):
        return {k: to_ember(v) for k, v in x.items()}
    if isinstance(x, torch.memory_format):
        return getattr(ember, str(x).split(".")[-1])
    if isinstance(x, torch.Generator):
        raise TypeError("generator argument")
    if isinstance(x, torch.nn.Module):  # a layer passed as a function (a distance_function)
        e = getattr(ember.nn, type(x).__name__)()
        for k, v in vars(x).items():
            if not k.startswith("_") and isinstance(v, (bool, int, float, str, tuple)):
                setattr(e, k, v)
        return e
    if isinstance(x, torch.layout):
        return getattr(ember, str(x).split(".")[-1])
    if callable(x) and getattr(x, "__module__", "") and x.__module__.startswith("torch"):
        # a torch function passed as an argument (a distance_function, ...): ember's own
        mod = x.__module__.replace("torch", "ember", 1).replace("._C._nn", ".nn.functional")
        obj = sys.modules.get(mod) or ember
        return getattr(obj, x.__name__, x)
    return x


def _partial_view(a) -> bool:
    """Whether ``a`` sees only part of its storage (as_strided's samples reach past it)."""
    if a.is_conj() or a.is_neg() or a.dtype.is_complex:
        return False
    return a.storage_offset() != 0 or a.untyped_storage().nbytes() != a.numel() * a.itemsize


def _view_of_storage(a):
    """The same view of a copy of ``a``'s whole storage, on ember."""
    n = a.untyped_storage().nbytes() // a.itemsize
    flat = torch.empty(0, dtype=a.dtype).set_(a.untyped_storage(), 0, (n,), (1,))
    base = ember.tensor(flat.numpy().copy()).to(DEVICE)
    return ember.as_strided(base, tuple(a.shape), a.stride(), a.storage_offset()).detach()


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _flat(item)]
    return [x]


def _tols(dt):
    if dt in (torch.float16, torch.bfloat16):
        return 1e-2, 1e-2
    if dt in (torch.float32, torch.complex64):
        return 1e-4, 1e-5
    return 1e-7, 1e-7


def same(e, t, shape_only=False) -> str | None:
    """None when ember's output e agrees with torch's t, else why not."""
    ef, tf = _flat(e), _flat(t)
    if len(ef) != len(tf):
        return f"{len(ef)} outputs, torch {len(tf)}"
    for a, b in zip(ef, tf):
        if isinstance(b, torch.Tensor):
            if not isinstance(a, ember.Tensor):
                return f"output {type(a).__name__}, torch a tensor"
            if tuple(a.shape) != tuple(b.shape):
                return f"shape {tuple(a.shape)}, torch {tuple(b.shape)}"
            if str(a.dtype) != str(b.dtype):
                return f"dtype {a.dtype}, torch {b.dtype}"
            if shape_only or b.numel() == 0:
                continue
            bv = b.detach()
            av = a.detach().cpu()
            if b.dtype == torch.bfloat16:
                bv, av = bv.float(), av.float()
            rtol, atol = _tols(b.dtype)
            if not np.allclose(
                av.numpy(), bv.numpy(force=True), rtol=rtol, atol=atol, equal_nan=True
            ):
                return "values differ"
        elif isinstance(b, (bool, int, float, complex)) and not isinstance(b, bool):
            if not np.isclose(a, b, equal_nan=True):
                return f"value {a}, torch {b}"
        elif isinstance(b, torch.dtype):
            if str(a) != str(b):
                return f"{a}, torch {b}"
    return None


def _draws(sample) -> bool:
    """Whether a sample draws random numbers (dropout in training) where ember's stream is not
    torch's CPU one (on a GPU): only shapes and dtypes compare then, and no gradient."""
    kw = sample.kwargs
    return DEVICE != "cpu" and bool(kw.get("dropout_p") or kw.get("training") is True)


def _grad_inputs(sample):
    items = [sample.input, *sample.args, *sample.kwargs.values()]
    return [x for x in _flat(items) if isinstance(x, torch.Tensor) and x.requires_grad]


def _dtype_for(info):
    dts = info.supported_dtypes("cpu")
    for dt in (torch.float32, torch.float64, torch.int64, torch.bool, torch.complex64):
        if dt in dts:
            return dt
    return None


def check_op(info, fn, max_samples: int) -> tuple[str | None, str | None]:
    """(forward problem or None, gradient problem or None or 'n/a')."""
    dt = _dtype_for(info)
    if dt is None:
        return "no CPU dtype", "n/a"
    fwd = None
    try:
        samples = list(info.sample_inputs("cpu", dt, requires_grad=False))[:max_samples]
    except Exception as err:  # noqa: BLE001 - torch's own sample generator failed
        return f"samples: {err!r}"[:120], "n/a"
    if not samples:
        return "no samples", "n/a"
    for s in samples:
        try:
            torch.manual_seed(42)  # ember's CPU streams are torch's: random ops agree too
            ember.manual_seed(42)
            t_out = info.op(s.input, *s.args, **s.kwargs)
        except Exception:  # noqa: BLE001 - torch refuses this sample: skip it
            continue
        try:
            e_out = fn(to_ember(s.input), *to_ember(list(s.args)), **to_ember(dict(s.kwargs)))
        except _Timeout:
            raise
        except Exception as err:  # noqa: BLE001 - recorded as the op's failure
            fwd = f"{type(err).__name__}: {err}"[:160]
            break
        e_out, t_out = _post(s, e_out, t_out)
        why = same(e_out, t_out, shape_only=info.name in RANDOM or _draws(s))
        if why:
            fwd = why
            break
    grad: str | None = "n/a"
    if (
        info.supports_autograd
        and torch.float64 in info.supported_dtypes("cpu")
        and info.name not in RANDOM
    ):
        grad = None
        try:
            gsamples = list(info.sample_inputs("cpu", torch.float64, requires_grad=True))
        except Exception as err:  # noqa: BLE001
            return fwd, f"samples: {err!r}"[:120]
        for s in gsamples[:max_samples]:
            tin = _grad_inputs(s)
            if not tin or _draws(s):
                continue
            try:
                torch.manual_seed(42)
                t_raw = info.op(s.input, *s.args, **s.kwargs)
                t_out = _post(s, None, t_raw)[1]
                touts = [o for o in _flat(t_out) if isinstance(o, torch.Tensor) and o.requires_grad]
                if not touts:
                    continue
                rng = np.random.default_rng(0)
                ws = [rng.standard_normal(tuple(o.shape)) for o in touts]
                tl = sum((o * torch.tensor(w)).sum() for o, w in zip(touts, ws))
                tgrads = torch.autograd.grad(tl, tin, allow_unused=True)
            except Exception:  # noqa: BLE001 - torch cannot differentiate this sample
                continue
            try:
                ember.manual_seed(42)
                e_in = to_ember(s.input)
                e_args = to_ember(list(s.args))
                e_kw = to_ember(dict(s.kwargs))
                ein = _grad_inputs_e(e_in, e_args, e_kw)
                e_out, t_chk = _post(s, fn(e_in, *e_args, **e_kw), t_raw)
                if (
                    t_chk is t_raw and t_out is not t_raw
                ):  # torch's post-processing failed on ember's
                    grad = "output_process_fn_grad failed on ember's output"
                    break
                eouts = [o for o in _flat(e_out) if isinstance(o, ember.Tensor) and o.requires_grad]
                if len(eouts) != len(touts):
                    grad = f"{len(eouts)} differentiable outputs, torch {len(touts)}"
                    break
                el = sum((o * ember.tensor(w, device=o.device)).sum() for o, w in zip(eouts, ws))
                egrads = ember.autograd.grad(el, ein, allow_unused=True)
            except _Timeout:
                raise
            except Exception as err:  # noqa: BLE001
                grad = f"{type(err).__name__}: {err}"[:160]
                break
            for a, b in zip(egrads, tgrads):
                if b is None:
                    continue
                if a is None:
                    if b.numel() and b.abs().max() > 0:
                        grad = "missing gradient"
                    continue
                why = same(a, b)
                if why:
                    grad = why
                    break
            if grad:
                break
    return fwd, grad


def _post(sample, e_out, t_out):
    """Both outputs through the sample's ``output_process_fn_grad``, as torch's own tests
    compare them (it removes what the op leaves free, such as an eigenvector's sign or phase);
    the raw outputs when it does not apply to ember's. ``e_out`` None: torch's alone."""
    pf = sample.output_process_fn_grad
    try:
        t = pf(t_out)
        e = pf(e_out) if e_out is not None else None
    except Exception:  # noqa: BLE001 - written for torch tensors: compare the raw outputs
        return e_out, t_out
    return e, t


def _grad_inputs_e(e_in, e_args, e_kw):
    items = [e_in, *e_args, *e_kw.values()]
    return [x for x in _flat(items) if isinstance(x, ember.Tensor) and x.requires_grad]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", help="write every op's result to this file")
    p.add_argument("--only", nargs="*", help="only these op names")
    p.add_argument("--samples", type=int, default=6, help="samples per op (default 6)")
    p.add_argument("--timeout", type=int, default=30, help="seconds per op (default 30)")
    p.add_argument("--device", default="cpu", help="where ember's inputs go (default cpu)")
    p.add_argument("--deadline", type=float, help="stop after this many seconds")
    p.add_argument("--shard", default="0/1", help="K/N: only every N-th OpInfo from the K-th")
    args = p.parse_args(argv)
    global DEVICE
    DEVICE = args.device
    start = time.monotonic()
    warnings.simplefilter("ignore")
    signal.signal(signal.SIGALRM, _alarm)
    results = {}
    counterpart = forward_ok = grad_ok = grad_total = 0
    k, n = (int(v) for v in args.shard.split("/"))
    infos = [o for o in op_db if not args.only or o.name in args.only][k::n]
    for info in infos:
        if args.deadline and time.monotonic() - start > args.deadline:
            print(f"deadline: stopped after {len(results)} of {len(infos)} OpInfos")
            break
        key = info.name + (f".{info.variant_test_name}" if info.variant_test_name else "")
        fn = resolve(info)
        if fn is None:
            results[key] = {"counterpart": False}
            continue
        counterpart += 1
        signal.alarm(args.timeout)
        try:
            fwd, grad = check_op(info, fn, args.samples)
        except _Timeout:
            fwd, grad = "timed out", "timed out"
        except Exception as err:  # noqa: BLE001 - a comparison the sweep cannot make
            fwd, grad = f"sweep error: {err!r}"[:160], "n/a"
        finally:
            signal.alarm(0)
        forward_ok += fwd is None
        if grad != "n/a":
            grad_total += 1
            grad_ok += grad is None
        results[key] = {"counterpart": True, "forward": fwd, "gradient": grad}
    print(f"OpInfos: {len(infos)}")
    print(f"counterpart in ember: {counterpart}")
    print(f"forward agreement: {forward_ok}")
    print(f"gradient agreement: {grad_ok} of {grad_total} differentiable")
    for k, v in results.items():
        if not v["counterpart"]:
            print(f"  missing  {k}")
        elif v["forward"] or (v["gradient"] not in (None, "n/a")):
            print(f"  differs  {k}: forward={v['forward']} gradient={v['gradient']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
