"""The registry dict behind ``_parameters``, ``_buffers`` and ``_modules``: it mirrors its
entries into the owner's ``__dict__`` so that attribute reads skip ``__getattr__``."""

from __future__ import annotations


class _Registry(dict):
    """A dict of parameters, buffers or submodules that mirrors its entries into the owner's
    ``__dict__`` (so reads are plain attribute lookups)."""

    __slots__ = ("_owner",)

    def __setitem__(self, key, value):
        dict.__setitem__(self, key, value)
        try:
            self._owner.__dict__[key] = value
        except AttributeError:
            pass

    def __delitem__(self, key):
        dict.__delitem__(self, key)
        try:
            self._owner.__dict__.pop(key, None)
        except AttributeError:
            pass

    def pop(self, key, *default):
        had = key in self
        r = dict.pop(self, key, *default)
        if had:
            try:
                self._owner.__dict__.pop(key, None)
            except AttributeError:
                pass
        return r

    def update(self, *args, **kw):
        for k, v in dict(*args, **kw).items():
            self[k] = v

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self):
        for k in list(self):
            del self[k]


def _registry(owner) -> _Registry:
    r = _Registry()
    r._owner = owner
    return r
