"""Child processes of ``ember run`` see ``torch`` (and ``torchvision``) as ember too (workers, ...).

``ember run`` puts this folder first on PYTHONPATH and sets EMBER_RUN_TORCH_ALIAS=1, so every
Python process it starts imports this file at start-up. It runs any other ``sitecustomize`` that
the folder hides, then installs the torch -> ember import hook.
"""

import os
import sys


def _run_hidden_sitecustomize(here: str) -> None:
    """Import the sitecustomize that would have run without this folder on the path."""
    ours = sys.modules.pop("sitecustomize", None)
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    try:
        # the next sitecustomize on the path, if any: only findable once this folder is off it
        import sitecustomize  # noqa: F401
    except ImportError:
        pass
    finally:
        sys.path[:] = saved
        if ours is not None:
            sys.modules["sitecustomize"] = ours


def _install_alias(here: str) -> None:
    """Install the torch alias, finding ember next to this file if it is not on the path."""
    if os.environ.get("EMBER_RUN_TORCH_ALIAS") != "1" or "torch" in sys.modules:
        return
    root = os.path.dirname(os.path.dirname(here))
    added = root not in sys.path
    if added:
        sys.path.append(root)
    try:
        # only once ember's folder is on the path, and only when the alias is asked for: this
        # file runs at the start-up of every child process
        from ember import _torch_alias

        _torch_alias.install()
    except Exception as exc:  # never break interpreter start-up
        print(f"ember run: could not alias torch in a child process: {exc}", file=sys.stderr)
    finally:
        if added and root in sys.path:
            sys.path.remove(root)


_here = os.path.dirname(os.path.abspath(__file__))
_run_hidden_sitecustomize(_here)
_install_alias(_here)
