"""ember's command line: ``ember run`` (a PyTorch script on ember), ``ember demo``, ``ember info``.

``ember run script.py [args...]`` and ``ember run -m package.module [args...]`` run a program
written for PyTorch with ``torch`` and every ``torch.*`` import resolved to ember. ``sys.argv``,
``__name__ == "__main__"``, ``__file__``, ``sys.path[0]`` and tracebacks look as they do under
``python script.py``.
"""

from __future__ import annotations

import argparse
import builtins
import importlib.machinery
import io
import os
import runpy
import sys
import types
import zipfile
from types import TracebackType

import ember

from . import _torch_alias
from .demo import main as demo_main
from .utils.collect_env import get_pretty_env_info

USAGE = """\
usage: ember run script.py [args ...]
       ember run -m package.module [args ...]
       ember demo [--epochs N] [--device cpu] [--workers N] [--out DIR]
       ember info
       ember --version

Commands:
  run    run a PyTorch program with `torch` (and every torch.* module) resolved to ember
  demo   train a small classifier on the bundled 8x8 handwritten digits and report accuracy
  info   print versions and which optional parts (CUDA, tqdm, matplotlib, ...) are available
"""


def _our_frame(filename: str) -> bool:
    """True for frames of this launcher or of runpy, which plain Python would not show."""
    if filename == os.path.abspath(__file__) or filename == __file__:
        return True
    runpy_file = getattr(runpy, "__file__", None) or ""
    return filename in (runpy_file, "<frozen runpy>") or filename.endswith(os.sep + "runpy.py")


def _trim(tb: TracebackType | None) -> TracebackType | None:
    """Drop the leading launcher frames so the traceback starts in the user's program."""
    while tb is not None and tb.tb_next is not None and _our_frame(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return tb


def _drop_alias_tail(tb: TracebackType | None) -> TracebackType | None:
    """Cut the trailing frames inside the torch alias hook (where not-implemented errors start)."""
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    alias_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_torch_alias.py")
    while len(frames) > 1 and frames[-1].tb_frame.f_code.co_filename == alias_file:
        frames.pop()
    if frames:
        frames[-1].tb_next = None
    return frames[0] if frames else None


def _report(exc: BaseException) -> int:
    """Print an uncaught exception the way the interpreter does; return the exit status."""
    exc.__traceback__ = _drop_alias_tail(_trim(exc.__traceback__))
    sys.excepthook(type(exc), exc, exc.__traceback__)
    return 130 if isinstance(exc, KeyboardInterrupt) else 1


def _run_source_file(script: str) -> None:
    """Execute a Python file as ``__main__`` exactly as ``python script.py`` sets it up."""
    path = os.path.abspath(script)
    with io.open_code(path) as f:
        source = f.read()
    code = compile(source, path, "exec", dont_inherit=True)
    main = types.ModuleType("__main__")
    main.__dict__.update(
        __file__=path,
        __cached__=None,
        __package__=None,
        __spec__=None,
        __loader__=importlib.machinery.SourceFileLoader("__main__", path),
        __builtins__=builtins,
    )
    sys.modules["__main__"] = main  # stays, as under python: pickling and atexit see it
    exec(code, main.__dict__)


def _alias_in_children() -> None:
    """Make Python child processes (spawned workers, subprocesses) alias torch to ember too."""
    site_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_alias_site")
    os.environ["EMBER_RUN_TORCH_ALIAS"] = "1"
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = site_dir + (os.pathsep + old if old else "")


def run(argv: list[str]) -> int:
    """``ember run``: run a script or module (``-m``) with torch resolved to ember."""
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="", file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    if argv[0] == "-m":
        if len(argv) < 2:
            print("ember run: -m needs a module name", file=sys.stderr)
            return 2
        module, args = argv[1], argv[2:]
        sys.argv = [module, *args]
        sys.path[0:1] = [os.getcwd()]
        _torch_alias.install()
        _alias_in_children()
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        except SystemExit:
            raise
        except ImportError as exc:
            tb = _trim(exc.__traceback__)
            if tb is None or _our_frame(tb.tb_frame.f_code.co_filename):
                print(f"ember run: {exc}", file=sys.stderr)  # runpy's own "No module named"
                return 1
            return _report(exc)
        except BaseException as exc:
            return _report(exc)
        return 0

    script, args = argv[0], argv[1:]
    if not os.path.exists(script):
        path = os.path.abspath(script)
        print(
            f"ember run: can't open file {path!r}: [Errno 2] No such file or directory",
            file=sys.stderr,
        )
        return 2
    sys.argv = [script, *args]
    real = os.path.realpath(script)
    sys.path[0:1] = [real if os.path.isdir(real) else os.path.dirname(real)]
    _torch_alias.install()
    _alias_in_children()
    try:
        if os.path.isfile(script) and not zipfile.is_zipfile(script):
            _run_source_file(script)
        else:  # a directory or zip archive with a __main__.py
            runpy.run_path(script, run_name="__main__")
    except SystemExit:
        raise
    except BaseException as exc:
        return _report(exc)
    return 0


def info() -> int:
    """``ember info``: versions and optional components."""
    print(get_pretty_env_info())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ember`` console script and of ``python -m ember``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd in ("-V", "--version", "version"):
        print(f"ember {ember.version.ember} (torch API {ember.__version__})")
        return 0
    if cmd == "run":
        return run(rest)
    if cmd == "demo":
        return demo_main(rest)
    if cmd == "info":
        return info()
    parser = argparse.ArgumentParser(prog="ember")
    parser.error(f"unknown command {cmd!r} (try: ember run, ember demo, ember info)")
    return 2


if __name__ == "__main__":
    sys.exit(main())
