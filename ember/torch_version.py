"""ember.torch_version: ``TorchVersion``, the ``str`` that ``torch.__version__`` is, which
compares as a version with version strings and tuples of ints (``torch.__version__ >= "2.0"``,
``torch.__version__ >= (2, 1)``), and a small ``Version`` for parsing one."""

from __future__ import annotations

import re

from .version import __version__ as internal_version

__all__ = ["TorchVersion", "Version", "InvalidVersion", "__version__"]

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
        if isinstance(other, tuple | list):
            # a tuple is the version its numbers spell: (2, 1) is "2.1", as torch reads it
            other = ".".join(str(v) for v in other)
        mine, theirs = _key(str(self)), _key(other)
        if mine is None or theirs is None:
            return None
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


class InvalidVersion(ValueError):
    """A version string that does not follow PEP 440's public form."""


class Version:
    """A parsed PEP 440 version, ordered as versions are (the part of ``packaging``'s Version
    that version checks use)."""

    def __init__(self, version: str):
        key = _key(version)
        if key is None or not isinstance(version, str):
            raise InvalidVersion(f"Invalid version: {version!r}")
        self._text = version.strip()
        self._k = key
        self.release: tuple[int, ...] = tuple(
            int(p) for p in _PATTERN.match(version)["release"].split(".")
        )

    @property
    def major(self) -> int:
        return self.release[0]

    @property
    def minor(self) -> int:
        return self.release[1] if len(self.release) > 1 else 0

    @property
    def micro(self) -> int:
        return self.release[2] if len(self.release) > 2 else 0

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"<Version('{self._text}')>"

    def __hash__(self) -> int:
        return hash(self._k)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._k == other._k

    def __lt__(self, other: Version) -> bool:
        return self._k < other._k

    def __le__(self, other: Version) -> bool:
        return self._k <= other._k

    def __gt__(self, other: Version) -> bool:
        return self._k > other._k

    def __ge__(self, other: Version) -> bool:
        return self._k >= other._k


__version__ = TorchVersion(internal_version)
