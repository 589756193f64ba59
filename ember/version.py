"""ember.version: the version strings that ``torch.version`` offers, for version checks in scripts.

``__version__`` claims the torch release whose API ember follows, with ember's own version as the
local part (``2.13.0+ember.0.1.0``). It is a ``str`` that also compares with version strings and
tuples of ints, so ``torch.__version__ >= "2.0"`` and ``torch.__version__ >= (2, 1)`` both work.
"""

from __future__ import annotations

import re

__all__ = ["TorchVersion", "__version__", "cuda", "hip", "git_version", "debug", "ember"]

_PATTERN = re.compile(
    r"^\s*v?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre>a|alpha|b|beta|rc|c)[-_.]?(?P<pren>\d*))?"
    r"(?:[-_.]?post[-_.]?(?P<post>\d*))?"
    r"(?:[-_.]?dev[-_.]?(?P<dev>\d*))?"
    r"(?:\+(?P<local>[a-z0-9.]+))?\s*$",
    re.IGNORECASE,
)
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2}


def _local_key(local: str | None) -> tuple:
    """Order local labels as PEP 440 does: numbers above words, absent lowest."""
    if not local:
        return ()
    parts = re.split(r"[.]", local.lower())
    return tuple((1, int(p), "") if p.isdigit() else (0, 0, p) for p in parts)


def _key(value: object) -> tuple | None:
    """A sortable key for a version string or tuple; None when it cannot be understood."""
    if isinstance(value, tuple | list):
        try:
            release = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            return None
        pre, post, dev, local = None, None, None, None
    elif isinstance(value, str):
        m = _PATTERN.match(value)
        if m is None:
            return None
        release = tuple(int(p) for p in m["release"].split("."))
        pre = (_PRE_RANK[m["pre"].lower()], int(m["pren"] or 0)) if m["pre"] else None
        post = int(m["post"] or 0) if m["post"] is not None else None
        dev = int(m["dev"] or 0) if m["dev"] is not None else None
        local = m["local"]
    else:
        return None
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    # A dev release of a final version sorts before its pre-releases; finals after them.
    if pre is None:
        pre_key = (-1, 0) if (dev is not None and post is None) else (3, 0)
    else:
        pre_key = pre
    post_key = -1 if post is None else post
    dev_key = float("inf") if dev is None else dev
    return (release, pre_key, post_key, dev_key, _local_key(local))


class TorchVersion(str):
    """A version string that compares as a version against strings and tuples of ints."""

    def _cmp(self, other: object) -> tuple[tuple, tuple] | None:
        mine, theirs = _key(str(self)), _key(other)
        if mine is None or theirs is None:
            return None
        if isinstance(other, tuple | list):
            # A tuple names only a release: compare release numbers alone (as torch does).
            return mine[0], theirs[0]
        return mine, theirs

    def __eq__(self, other: object) -> bool:
        keys = self._cmp(other)
        return str.__eq__(self, other) if keys is None else keys[0] == keys[1]

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __lt__(self, other: object) -> bool:
        keys = self._cmp(other)
        return str.__lt__(self, other) if keys is None else keys[0] < keys[1]

    def __le__(self, other: object) -> bool:
        keys = self._cmp(other)
        return str.__le__(self, other) if keys is None else keys[0] <= keys[1]

    def __gt__(self, other: object) -> bool:
        keys = self._cmp(other)
        return str.__gt__(self, other) if keys is None else keys[0] > keys[1]

    def __ge__(self, other: object) -> bool:
        keys = self._cmp(other)
        return str.__ge__(self, other) if keys is None else keys[0] >= keys[1]

    __hash__ = str.__hash__


ember = "0.1.0"
__version__ = TorchVersion(f"2.13.0+ember.{ember}")
cuda: str | None = None
hip: str | None = None
debug = False
git_version = "unknown"
