"""The layout of ember/ as a whole: its import graph (no cycle between modules at module top; the
core, ops/, autograd/ and tensor.py, imports no upper layer) and the class paths that pickles and
checkpoints name."""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from pathlib import Path

import pytest

import ember
from ember._serialization.names import resolve_torch
from tests._support.torch_ref import torch

EMBER = Path(__file__).resolve().parents[1] / "ember"
CORE = ("ember.ops", "ember.autograd", "ember.tensor")  # these and their submodules
UPPER = ("ember.nn", "ember.optim", "ember.utils")  # these and their submodules, and ``ember``


# --- the import graph ------------------------------------------------------------------------


def module_files(pkg_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package at ``pkg_dir``."""
    out = {}
    for path in sorted(pkg_dir.rglob("*.py")):
        parts = path.relative_to(pkg_dir.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """Collects (target module, at module top, line) for each import of a module of the package.

    ``from PKG import NAME`` imports PKG.NAME when that is a module, else PKG; imports in function
    bodies are not at module top, nor are those under ``if TYPE_CHECKING:`` (never executed)."""

    def __init__(self, name: str, is_pkg: bool, modules: dict[str, Path]):
        self.package = name if is_pkg else name.rpartition(".")[0]
        self.modules = modules
        self.root = next(iter(modules)).split(".")[0]
        self.depth = 0  # > 0 inside a function body or a TYPE_CHECKING block
        self.found: list[tuple[str, bool, int]] = []

    def _add(self, target: str, line: int) -> None:
        if target == self.root or target.startswith(self.root + "."):
            while target not in self.modules and "." in target:  # a name inside a module
                target = target.rpartition(".")[0]
            self.found.append((target, self.depth == 0, line))

    def _nested(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _nested

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.visit(node.test)
        self.depth += 1
        for child in node.body:
            self.visit(child)
        self.depth -= 1
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            parts = self.package.split(".")
            base = ".".join(parts[: len(parts) - (node.level - 1)])
            full = base + ("." + node.module if node.module else "")
        else:
            full = node.module or ""
        for alias in node.names:
            sub = f"{full}.{alias.name}"
            self._add(sub if sub in self.modules else full, node.lineno)

    def visit_Call(self, node: ast.Call) -> None:
        # importlib.import_module("pkg.mod") with a literal name is an import too
        fn = node.func
        name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", None)
        if name in ("import_module", "__import__") and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                self._add(arg.value, node.lineno)
        self.generic_visit(node)


def import_graph(pkg_dir: Path) -> list[tuple[str, str, bool, int]]:
    """(importer, imported, at module top, line) for every import inside the package."""
    modules = module_files(pkg_dir)
    edges = []
    for name, path in modules.items():
        v = _Imports(name, path.name == "__init__.py", modules)
        v.visit(ast.parse(path.read_text(), str(path)))
        edges += [(name, target, top, line) for target, top, line in v.found if target != name]
    return sorted(set(edges))


def top_level_cycles(edges) -> list[list[str]]:
    """The groups of modules that import each other at module top (strongly connected, > 1)."""
    graph: dict[str, set[str]] = {}
    for a, b, top, _ in edges:
        if top:
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []

    def connect(v: str) -> None:  # Tarjan's algorithm; the graph is small enough to recurse
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(groups)


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def upward_imports(edges, root: str = "ember", core=CORE, upper=UPPER) -> list[str]:
    """Imports (at module top or in a function) from the core into an upper layer or the root."""
    return [
        f"{a}:{line} imports {b}"
        for a, b, _, line in edges
        if _within(a, core) and (b == root or _within(b, upper))
    ]


def _describe_cycles(edges, groups) -> str:
    lines = []
    for group in groups:
        inside = set(group)
        lines.append("cycle: " + ", ".join(group))
        lines += [f"    {a}:{line} -> {b}" for a, b, top, line in edges if top and {a, b} <= inside]
    return "\n".join(lines)


def _write_package(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root / "pkg"


def test_the_checker_resolves_imports_as_python_does(tmp_path):
    pkg = _write_package(
        tmp_path,
        {
            "__init__.py": "from . import sub\nfrom .core import Thing\n",
            "dtypes.py": "",
            "core.py": "from . import dtypes\nfrom .sub import mod as M\n",
            "sub/__init__.py": "from .mod import f\n",
            "sub/mod.py": (
                "from .. import dtypes\nfrom .. import Thing\nimport numpy\n"
                "def f():\n    from ..core import Thing\n    import pkg.sub\n"
                "if TYPE_CHECKING:\n    from ..core import Other\n"
            ),
        },
    )
    got = set(import_graph(pkg))
    assert got == {
        ("pkg", "pkg.sub", True, 1),
        ("pkg", "pkg.core", True, 2),
        ("pkg.core", "pkg.dtypes", True, 1),  # ``from . import dtypes``: the module, not pkg
        ("pkg.core", "pkg.sub.mod", True, 2),
        ("pkg.sub", "pkg.sub.mod", True, 1),
        ("pkg.sub.mod", "pkg.dtypes", True, 1),
        ("pkg.sub.mod", "pkg", True, 2),  # a name from the package's __init__
        ("pkg.sub.mod", "pkg.core", False, 5),  # in a function
        ("pkg.sub.mod", "pkg.sub", False, 6),
        ("pkg.sub.mod", "pkg.core", False, 8),  # under TYPE_CHECKING
    }
    assert top_level_cycles(got) == [["pkg", "pkg.core", "pkg.sub", "pkg.sub.mod"]]
    core, upper = ("pkg.sub",), ("pkg.core",)
    assert upward_imports(sorted(got), "pkg", core, upper) == [
        "pkg.sub.mod:2 imports pkg",
        "pkg.sub.mod:5 imports pkg.core",
        "pkg.sub.mod:8 imports pkg.core",
    ]


def test_the_checker_ignores_imports_in_functions_for_cycles(tmp_path):
    pkg = _write_package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from . import b\n",
            "b.py": "def g():\n    from . import a\n",
        },
    )
    assert top_level_cycles(import_graph(pkg)) == []


def test_no_import_cycle_at_module_top():
    edges = import_graph(EMBER)
    groups = top_level_cycles(edges)
    assert not groups, "\n" + _describe_cycles(edges, groups)


def test_core_imports_no_upper_layer():
    bad = upward_imports(import_graph(EMBER))
    assert not bad, "\n" + "\n".join(bad)


def imports_below_code(path: Path) -> list[int]:
    """Lines of module-level imports that come after the module's first function or class: an
    import at the bottom of a file (a late re-export, or a cycle dodged by import order)."""
    first_def = None
    late = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first_def = first_def or node.lineno
        if first_def is None or (isinstance(node, ast.If) and _is_type_checking(node.test)):
            continue
        late += (
            [n.lineno for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.Try, ast.If))
            else []
        )
    return late


def test_the_checker_finds_imports_below_code(tmp_path):
    (tmp_path / "m.py").write_text("import os\n\ndef f():\n    import sys\n\nfrom os import path\n")
    assert imports_below_code(tmp_path / "m.py") == [6]


def test_no_import_at_the_bottom_of_a_file():
    late = [
        f"{name}:{line}"
        for name, path in module_files(EMBER).items()
        for line in imports_below_code(path)
    ]
    assert not late, "imports below the first def/class: " + ", ".join(late)


# --- class paths that pickles and checkpoints name -------------------------------------------

# Where ember's classes are found by name today: a pickle (``pickle.dump`` of a model, an old
# ember checkpoint) names them by these paths, so they must keep resolving after any move.
EMBER_CLASS_PATHS = {
    "ember.tensor": "Tensor Size",
    "ember.dtypes": "dtype",
    "ember.device": "device",
    "ember.random": "Generator",
    "ember.nn.parameter": "Parameter Buffer UninitializedParameter UninitializedBuffer",
    "ember.nn.modules.module": "Module",
    "ember.nn.modules.activation": (
        "CELU ELU GELU GLU Hardshrink Hardsigmoid Hardswish Hardtanh LeakyReLU LogSigmoid "
        "LogSoftmax Mish MultiheadAttention PReLU RReLU ReLU ReLU6 SELU SiLU Sigmoid Softmax "
        "Softmax2d Softmin Softplus Softshrink Softsign Tanh Tanhshrink Threshold"
    ),
    "ember.nn.modules.batchnorm": (
        "BatchNorm1d BatchNorm2d BatchNorm3d SyncBatchNorm LazyBatchNorm1d LazyBatchNorm2d "
        "LazyBatchNorm3d"
    ),
    "ember.nn.modules.container": "ModuleDict ModuleList ParameterDict ParameterList Sequential",
    "ember.nn.modules.conv": (
        "Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d LazyConv1d "
        "LazyConv2d LazyConv3d LazyConvTranspose1d LazyConvTranspose2d LazyConvTranspose3d"
    ),
    "ember.nn.modules.distance": "CosineSimilarity PairwiseDistance",
    "ember.nn.modules.dropout": (
        "AlphaDropout Dropout Dropout1d Dropout2d Dropout3d FeatureAlphaDropout"
    ),
    "ember.nn.modules.flatten": "Flatten Unflatten",
    "ember.nn.modules.fold": "Fold Unfold",
    "ember.nn.modules.instancenorm": (
        "InstanceNorm1d InstanceNorm2d InstanceNorm3d LazyInstanceNorm1d LazyInstanceNorm2d "
        "LazyInstanceNorm3d"
    ),
    "ember.nn.modules.lazy": "LazyModuleMixin",
    "ember.nn.modules.linear": (
        "Bilinear Identity LazyLinear Linear NonDynamicallyQuantizableLinear"
    ),
    "ember.nn.modules.loss": (
        "BCELoss BCEWithLogitsLoss CosineEmbeddingLoss CrossEntropyLoss GaussianNLLLoss "
        "HingeEmbeddingLoss HuberLoss KLDivLoss L1Loss MSELoss MarginRankingLoss "
        "MultiLabelSoftMarginLoss NLLLoss PoissonNLLLoss SmoothL1Loss SoftMarginLoss "
        "TripletMarginLoss"
    ),
    "ember.nn.modules.normalization": "GroupNorm LayerNorm LocalResponseNorm RMSNorm",
    "ember.nn.modules.padding": (
        "CircularPad1d CircularPad2d CircularPad3d ConstantPad1d ConstantPad2d ConstantPad3d "
        "ReflectionPad1d ReflectionPad2d ReflectionPad3d ReplicationPad1d ReplicationPad2d "
        "ReplicationPad3d ZeroPad1d ZeroPad2d ZeroPad3d"
    ),
    "ember.nn.modules.pixelshuffle": "PixelShuffle PixelUnshuffle",
    "ember.nn.modules.pooling": (
        "AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d AdaptiveMaxPool1d "
        "AdaptiveMaxPool2d AvgPool1d AvgPool2d AvgPool3d LPPool1d LPPool2d MaxPool1d MaxPool2d "
        "MaxPool3d MaxUnpool1d MaxUnpool2d MaxUnpool3d"
    ),
    "ember.nn.modules.rnn": "GRU GRUCell LSTM LSTMCell RNN RNNBase RNNCell RNNCellBase",
    "ember.nn.modules.sparse": "Embedding EmbeddingBag",
    "ember.nn.modules.transformer": (
        "Transformer TransformerDecoder TransformerDecoderLayer TransformerEncoder "
        "TransformerEncoderLayer"
    ),
    "ember.nn.modules.upsampling": "Upsample UpsamplingBilinear2d UpsamplingNearest2d",
    "ember.nn.parallel": "DataParallel",
    "ember.nn.parallel.distributed": "DistributedDataParallel",
    "ember.optim.optimizer": "Optimizer",
    "ember.optim.adadelta": "Adadelta",
    "ember.optim.adagrad": "Adagrad",
    "ember.optim.adam": "Adam",
    "ember.optim.adamax": "Adamax",
    "ember.optim.adamw": "AdamW",
    "ember.optim.lbfgs": "LBFGS",
    "ember.optim.nadam": "NAdam",
    "ember.optim.radam": "RAdam",
    "ember.optim.rmsprop": "RMSprop",
    "ember.optim.rprop": "Rprop",
    "ember.optim.sgd": "SGD",
    "ember.optim.lr_scheduler": (
        "ChainedScheduler ConstantLR CosineAnnealingLR CosineAnnealingWarmRestarts CyclicLR "
        "ExponentialLR LRScheduler LambdaLR LinearLR MultiStepLR MultiplicativeLR OneCycleLR "
        "PolynomialLR ReduceLROnPlateau SequentialLR StepLR"
    ),
    "ember.optim.swa_utils": "AveragedModel SWALR",
}
_PUBLIC = ("ember", "ember.nn", "ember.nn.parallel", "ember.optim", "ember.optim.lr_scheduler")


def _find_class(module: str, name: str):
    """What pickle's Unpickler.find_class does: import the module, then look the name up."""
    return getattr(importlib.import_module(module), name)


def _public(name: str):
    """The class of that name in ember's public namespaces (the one users construct)."""
    for ns in _PUBLIC:
        obj = getattr(importlib.import_module(ns), name, None)
        if inspect.isclass(obj):
            return obj
    return None


@pytest.mark.parametrize("module", sorted(EMBER_CLASS_PATHS))
def test_ember_class_paths_resolve(module):
    for name in EMBER_CLASS_PATHS[module].split():
        obj = _find_class(module, name)
        assert inspect.isclass(obj), f"{module}.{name}"
        public = _public(name)
        assert public is None or obj is public, f"{module}.{name} is not ember's {name}"


def _torch_counterparts():
    """(torch module, name, ember class) for each public ember class torch also has."""
    out = {}
    for ens, tns in (
        (ember.nn, torch.nn),
        (ember.optim, torch.optim),
        (ember.optim.lr_scheduler, torch.optim.lr_scheduler),
        (ember.optim.swa_utils, torch.optim.swa_utils),
        (ember, torch),
    ):
        for name in dir(ens):
            obj, tobj = getattr(ens, name), getattr(tns, name, None)
            if name.startswith("_") or not inspect.isclass(obj) or not inspect.isclass(tobj):
                continue
            if ens is ember and name not in ("Tensor", "Size", "device", "dtype"):
                continue  # the legacy tensor types load as names only, by design
            if (obj.__module__ or "").startswith("ember") and tobj.__module__.startswith("torch"):
                out[(tobj.__module__, tobj.__qualname__)] = obj
    return out


def test_torch_class_paths_resolve_to_ember_classes():
    """A torch checkpoint names classes by torch's paths; loading maps each to ember's class."""
    pairs = _torch_counterparts()
    assert ("torch.nn.modules.linear", "Linear") in pairs
    assert ("torch.optim.sgd", "SGD") in pairs
    wrong = [
        f"{mod}.{name}"
        for (mod, name), obj in sorted(pairs.items())
        if resolve_torch(mod, name) is not obj
    ]
    assert not wrong


def test_torch_paths_of_modules_and_optimizers_name_ember_files():
    """torch's module path with ``ember`` for ``torch`` finds the same class (find_class)."""
    wrong = []
    for (mod, name), obj in sorted(_torch_counterparts().items()):
        if not mod.startswith(("torch.nn.modules.", "torch.optim.")):
            continue
        try:
            found = _find_class("ember" + mod[len("torch") :], name)
        except (ImportError, AttributeError):
            found = None
        if found is not obj:
            wrong.append(f"{mod}.{name}")
    assert not wrong
