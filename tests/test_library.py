"""torch.library and torch.ops: custom operators defined, called, differentiated and checked
eagerly, compared with PyTorch on the same scripts."""

import functools
import inspect
import itertools
import operator
import types
import typing

import numpy as np
import pytest

import ember
from ember import Tensor

torch = pytest.importorskip("torch")

_ids = itertools.count()


def _ns(tag: str) -> str:
    """A fresh namespace: both registries are global and keep every operator."""
    return f"emtest_{tag}_{next(_ids)}"


def _define_sin(lib, tensor_cls, ns: str):
    @lib.custom_op(f"{ns}::numpy_sin", mutates_args=())
    def numpy_sin(x: tensor_cls) -> tensor_cls:  # type: ignore[valid-type]
        return _from_np(x, np.sin)

    def setup_context(ctx, inputs, output):
        (x,) = inputs
        ctx.save_for_backward(x)
        ctx.scale = 1.0

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cos() * ctx.scale

    numpy_sin.register_autograd(backward, setup_context=setup_context)
    return numpy_sin


def _from_np(x, f):
    mod = ember if isinstance(x, ember.Tensor) else torch
    return mod.from_numpy(f(x.detach().numpy()))


def test_custom_op_call_and_gradient_match_torch():
    ns = _ns("sin")
    e_op = _define_sin(ember.library, ember.Tensor, ns)
    t_op = _define_sin(torch.library, torch.Tensor, ns)
    data = np.linspace(-2, 2, 7)
    xe = ember.tensor(data, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    ye = getattr(ember.ops, ns).numpy_sin(xe)
    yt = getattr(torch.ops, ns).numpy_sin(xt)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy())
    np.testing.assert_allclose(ye.detach().numpy(), np.sin(data))
    ye.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), np.cos(data))
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy())
    # .default, the CustomOpDef itself and the grad_fn's name, as torch's
    out = getattr(ember.ops, ns).numpy_sin.default(ember.tensor([0.5]))
    np.testing.assert_allclose(out.numpy(), np.sin([0.5]))
    np.testing.assert_allclose(e_op(ember.tensor([0.5])).numpy(), np.sin([0.5]))
    assert type(ye.grad_fn).__name__ == type(yt.grad_fn).__name__
    assert repr(e_op) == repr(t_op)
    assert str(getattr(ember.ops, ns).numpy_sin) == str(getattr(torch.ops, ns).numpy_sin)


def test_ctx_needs_input_grad_and_kwarg_only():
    seen = {}
    for lib, T, key in ((ember.library, ember.Tensor, "e"), (torch.library, torch.Tensor, "t")):
        ns = _ns("kw")

        @lib.custom_op(f"{ns}::scale", mutates_args=())
        def scale(x: T, y: T, *, alpha: float = 2.0) -> T:  # type: ignore[valid-type]
            return x * y * alpha

        def setup(ctx, inputs, output, keyword_only_inputs):
            ctx.save_for_backward(*inputs)
            ctx.alpha = keyword_only_inputs["alpha"]

        def bw(ctx, g, key=key):
            seen[key] = ctx.needs_input_grad
            x, y = ctx.saved_tensors
            return g * y * ctx.alpha, g * x * ctx.alpha

        scale.register_autograd(bw, setup_context=setup)
        mod = ember if lib is ember.library else torch
        x = mod.tensor([1.0, 2.0], requires_grad=True)
        y = mod.tensor([3.0, 4.0])
        out = getattr(mod.ops, ns).scale(x, y, alpha=3.0)
        out.sum().backward()
        seen[key + "grad"] = x.grad.numpy().tolist()
        seen[key + "out"] = out.detach().numpy().tolist()
    assert seen["e"] == seen["t"] == (True, False)
    assert seen["egrad"] == seen["tgrad"] == [9.0, 12.0]
    assert seen["eout"] == seen["tout"]


def test_no_autograd_formula_raises_on_backward_as_torch():
    msgs = []
    for lib, mod in ((ember.library, ember), (torch.library, torch)):
        ns = _ns("nograd")

        @lib.custom_op(f"{ns}::double", mutates_args=())
        def double(x: mod.Tensor) -> mod.Tensor:
            return x * 2

        y = double(mod.ones(2, requires_grad=True))
        assert y.requires_grad
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
        msgs.append(str(info.value).replace(ns, "NS"))
    assert msgs[0] == msgs[1]


def test_register_kernel_per_device_and_set_kernel_enabled():
    outs = []
    for lib, mod in ((ember.library, ember), (torch.library, torch)):
        ns = _ns("kern")

        @lib.custom_op(f"{ns}::plus", mutates_args=())
        def plus(x: mod.Tensor) -> mod.Tensor:
            return x + 1

        @plus.register_kernel("cpu")
        def _(x):
            return x + 10

        @plus.register_kernel("cuda")
        def _(x):
            return x + 100

        got = [plus(mod.zeros(1)).item()]
        with plus.set_kernel_enabled("cpu", False):
            got.append(plus(mod.zeros(1)).item())
        got.append(plus(mod.zeros(1)).item())
        outs.append(got)
    assert outs[0] == outs[1] == [10.0, 1.0, 10.0]


def test_mutates_args_in_place_op():
    results = []
    ns = _ns("mut")  # the same name in each library's own registry
    for lib, mod in ((ember.library, ember), (torch.library, torch)):

        @lib.custom_op(f"{ns}::add_one_", mutates_args={"x"})
        def add_one_(x: mod.Tensor) -> None:
            x.add_(1)

        t = mod.ones(3)
        getattr(mod.ops, ns).add_one_(t)
        results.append((t.numpy().tolist(), str(getattr(mod.ops, ns).add_one_.default._schema)))
    assert results[0] == results[1]
    assert results[0][0] == [2.0, 2.0, 2.0]


def test_output_aliasing_an_input_raises_as_torch():
    for lib, mod in ((ember.library, ember), (torch.library, torch)):
        ns = _ns("alias")

        @lib.custom_op(f"{ns}::same", mutates_args=())
        def same(x: mod.Tensor) -> mod.Tensor:
            return x

        @lib.custom_op(f"{ns}::view", mutates_args=())
        def view(x: mod.Tensor) -> mod.Tensor:
            return x.view(-1)

        for op in (same, view):
            with pytest.raises(RuntimeError, match="must not also be an input to this custom op"):
                op(mod.ones(2))


def test_library_define_impl_and_dispatch_keys():
    results = []
    for mod in (ember, torch):
        ns = _ns("lib")
        lib = mod.library.Library(ns, "DEF")
        assert lib.define("twice(Tensor x) -> Tensor") == "twice"
        lib.define("thrice(Tensor x, *, float alpha=1.0) -> Tensor")
        lib.impl("twice", lambda x: x * 2, "CompositeImplicitAutograd")
        lib.impl("thrice", lambda x, *, alpha: x * 3 * alpha, "CPU")
        x = mod.ones(2, requires_grad=True)
        ops = getattr(mod.ops, ns)
        ops.twice(x).sum().backward()
        with pytest.raises(RuntimeError, match="multiple times"):
            lib.define("twice(Tensor x) -> Tensor")
        with pytest.raises(RuntimeError, match="could not parse dispatch key: Bogus"):
            lib.impl("twice", lambda x: x, "Bogus")
        with pytest.raises(RuntimeError, match="expected at most 1 argument"):
            ops.twice(x, 2.0)
        with pytest.raises(RuntimeError, match="takes 1 positional argument"):
            ops.thrice(x, 2.0)
        with pytest.raises(RuntimeError, match="Only a single TORCH_LIBRARY"):
            mod.library.Library(ns, "DEF")
        with pytest.raises(ValueError, match="Unsupported kind: XXX"):
            mod.library.Library(ns, "XXX")
        results.append(
            (x.grad.numpy().tolist(), ops.thrice(mod.ones(1), alpha=2.0).detach().numpy().tolist())
        )
    assert results[0] == results[1] == ([2.0, 2.0], [6.0])


def test_module_level_define_impl_register_fake():
    results = []
    for mod in (ember, torch):
        ns = _ns("mod")
        mod.library.define(f"{ns}::bar", "(Tensor x, int n) -> Tensor")

        @mod.library.impl(f"{ns}::bar", "cpu")
        def bar(x, n):
            return x + n

        fake = mod.library.register_fake(f"{ns}::bar")(lambda x, n, mod=mod: mod.empty_like(x))
        assert callable(fake)
        results.append(getattr(mod.ops, ns).bar(mod.ones(2), 3).numpy().tolist())
        with pytest.raises(RuntimeError, match=f"operator {ns}::nope does not exist"):
            mod.library.register_fake(f"{ns}::nope")(lambda x: x)
        with pytest.raises(AttributeError, match="has no attribute 'nope2'"):
            mod.library.register_autograd(f"{ns}::nope2", lambda c, g: g)
    assert results[0] == results[1] == [4.0, 4.0]


def test_register_fake_is_stored_and_callable():
    ns = _ns("fake")

    @ember.library.custom_op(f"{ns}::f", mutates_args=())
    def f(x: Tensor) -> Tensor:
        return x.clone()

    assert f._abstract_fn is None

    @f.register_fake
    def _(x):
        return ember.empty_like(x)

    assert f._abstract_fn(ember.ones(3)).shape == (3,)


def _sig1(
    x: Tensor,
    y: Tensor | None,
    n: int,
    f: float,
    b: bool,
    s: str,
    ls: list[Tensor],
    o: int | None = None,
    d: float = 2.0,
    flag: bool = True,
    name: str = "a",
) -> tuple[Tensor, Tensor]: ...


def _sig2(x: Tensor, out: Tensor) -> None: ...


def _sig3(x: Tensor, *, alpha: float = 1.0, sizes: list[int] | None = None) -> list[Tensor]: ...


def _sig4(x: Tensor, k: int | None = None, fl: list[float] | None = None) -> Tensor: ...


def _to_torch(tp):
    """An annotation with ember.Tensor replaced by torch.Tensor."""
    if tp is Tensor:
        return torch.Tensor
    args = typing.get_args(tp)
    if not args:
        return tp
    new = tuple(_to_torch(a) for a in args)
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        return functools.reduce(operator.or_, new)
    return typing.get_origin(tp)[new]


def _torch_version(fn):
    """The same signature annotated with torch's Tensor."""
    sig = inspect.signature(fn)
    params = [p.replace(annotation=_to_torch(p.annotation)) for p in sig.parameters.values()]

    def clone(*args, **kwargs): ...

    clone.__signature__ = sig.replace(
        parameters=params, return_annotation=_to_torch(sig.return_annotation)
    )
    clone.__annotations__ = {p.name: p.annotation for p in params}
    clone.__annotations__["return"] = clone.__signature__.return_annotation
    return clone


@pytest.mark.parametrize(
    "fn, mutates",
    [(_sig1, ()), (_sig2, ("out",)), (_sig2, "unknown"), (_sig3, ()), (_sig4, ())],
)
def test_infer_schema_matches_torch(fn, mutates):
    want = torch.library.infer_schema(_torch_version(fn), mutates_args=mutates)
    assert ember.library.infer_schema(fn, mutates_args=mutates) == want
    assert ember.library.infer_schema(fn, mutates_args=mutates, op_name="foo") == "foo" + want


def test_infer_schema_errors_as_torch():
    def nohint(x): ...

    for lib in (ember.library, torch.library):
        with pytest.raises(ValueError, match="Parameter x must have a type annotation"):
            lib.infer_schema(nohint, mutates_args=())
    with pytest.raises(ValueError, match=r"\{'zz'\} in mutates_args were not found"):
        ember.library.infer_schema(_sig2, mutates_args=("zz",))
    with pytest.raises(ValueError, match=r"\{'zz'\} in mutates_args were not found"):
        torch.library.infer_schema(_torch_version(_sig2), mutates_args=("zz",))


def test_custom_op_errors_as_torch():
    for lib, mod in ((ember.library, ember), (torch.library, torch)):
        with pytest.raises(
            TypeError, match="missing 1 required keyword-only argument: 'mutates_args'"
        ):
            lib.custom_op(f"{_ns('err')}::f")
        with pytest.raises(ValueError):

            @lib.custom_op("no_namespace", mutates_args=())
            def f(x: mod.Tensor) -> mod.Tensor:
                return x.clone()

        ns = _ns("err")

        @lib.custom_op(f"{ns}::g", mutates_args=())
        def g(x: mod.Tensor, *, k: int = 1) -> mod.Tensor:
            return x * k

        with pytest.raises(RuntimeError, match="takes 1 positional argument"):
            g(mod.ones(1), 3)

        # redefining a custom op replaces it, as torch's
        @lib.custom_op(f"{ns}::g", mutates_args=())
        def g2(x: mod.Tensor) -> mod.Tensor:
            return x + 5

        assert getattr(mod.ops, ns).g(mod.zeros(1)).item() == 5.0


def test_torch_ops_namespaces():
    ns = _ns("space")
    for ops in (ember.ops, torch.ops):
        space = getattr(ops, ns)  # made on first access, as torch's
        with pytest.raises(AttributeError, match=f"'_OpNamespace' '{ns}' object has no attr"):
            _ = space.missing
    with pytest.raises(AttributeError):
        _ = ember.ops.aten.add  # ember runs no ATen operator by name
    # ember's own op modules stay reachable through ember.ops
    from ember.ops import arith

    assert ember.ops.arith is arith
    with pytest.raises(RuntimeError, match="ember's own modules"):
        ember.library.custom_op(
            "arith::f", lambda x: x, mutates_args=(), schema="(Tensor x) -> Tensor"
        )


def test_opcheck_eager():
    ns = _ns("check")
    op = _define_sin(ember.library, ember.Tensor, ns)
    args = (ember.randn(4, dtype=ember.float64, requires_grad=True),)
    with pytest.raises(ember.library.OpCheckError, match="no fake impl"):
        ember.library.opcheck(op, args)
    op.register_fake(lambda x: ember.empty_like(x))
    assert ember.library.opcheck(op, args) == {
        "test_schema": "SUCCESS",
        "test_autograd_registration": "SUCCESS",
        "test_faketensor": "SUCCESS",
        "test_aot_dispatch_dynamic": "SUCCESS",
    }
    # a wrong backward is caught by the gradient check
    op.register_autograd(lambda ctx, g: g * 3.0)
    res = ember.library.opcheck(op, args, raise_exception=False)
    assert isinstance(res["test_aot_dispatch_dynamic"], ember.library.OpCheckError)
    # an undeclared mutation is caught by the schema check
    ns2 = _ns("check")

    @ember.library.custom_op(f"{ns2}::sneaky", mutates_args=())
    def sneaky(x: Tensor) -> None:
        x.add_(1)

    with pytest.raises(ember.library.OpCheckError, match="test_schema"):
        ember.library.opcheck(sneaky, (ember.ones(2),), test_utils="test_schema")


def test_triton_is_refused_and_get_ctx():
    with pytest.raises(NotImplementedError, match="Triton"):
        ember.library.triton_op("x::y", mutates_args=())
    with pytest.raises(NotImplementedError, match="Triton"):
        ember.library.wrap_triton(lambda: 0)
    with pytest.raises(NotImplementedError):
        ember.library.get_ctx().new_dynamic_size()
