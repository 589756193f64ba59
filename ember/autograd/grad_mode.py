"""Grad-mode switches (thread-local, as torch): no_grad, enable_grad, set_grad_enabled,
inference_mode. Each works as a context manager and as a decorator."""

from __future__ import annotations

import functools
import inspect
import threading

from .._grad_state import state


def is_grad_enabled() -> bool:
    """Whether operations record a graph in this thread."""
    return state.enabled


def is_inference_mode_enabled() -> bool:
    return state.inference


class _DecoratorContextManager:
    def __call__(self, func):
        if inspect.isclass(func):
            raise TypeError("ember grad-mode decorators apply to functions, not classes")
        if inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def gen_wrapper(*args, **kwargs):
                gen = func(*args, **kwargs)
                with self.clone():
                    try:
                        response = gen.send(None)
                    except StopIteration as e:
                        return e.value
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self.clone():
                            gen.close()
                        raise
                    except BaseException as e:
                        with self.clone():
                            response = gen.throw(e)
                        continue
                    with self.clone():
                        try:
                            response = gen.send(request)
                        except StopIteration as e:
                            return e.value

            return gen_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)

        return wrapper

    def clone(self):
        return self.__class__()


class no_grad(_DecoratorContextManager):
    """Disable graph recording inside the block (``with ember.no_grad():``, ``@no_grad()`` or
    ``@no_grad``)."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)

    def __enter__(self):
        self.prev = state.enabled
        state.enabled = False

    def __exit__(self, *exc):
        state.enabled = self.prev


class enable_grad(_DecoratorContextManager):
    """Enable graph recording inside the block, even within ``no_grad``."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)

    def __enter__(self):
        self.prev = state.enabled
        state.enabled = True

    def __exit__(self, *exc):
        state.enabled = self.prev


class set_grad_enabled(_DecoratorContextManager):
    """Set grad mode on or off; takes effect at once, and as a context manager restores it."""

    def __init__(self, mode: bool):
        self.prev = state.enabled
        self.mode = bool(mode)
        state.enabled = self.mode

    def __call__(self, func):
        state.enabled = self.prev  # as a decorator it changes nothing until the call
        return super().__call__(func)

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        state.enabled = self.prev

    def clone(self):
        return self.__class__(self.mode)


class inference_mode(_DecoratorContextManager):
    """Like no_grad (ember keeps no extra bookkeeping to skip); ``inference_mode(False)`` is a
    no-op block."""

    def __new__(cls, mode=True):
        if callable(mode):
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        self.mode = mode

    def __enter__(self):
        self.prev = (state.enabled, state.inference)
        if self.mode:
            state.enabled = False
            state.inference = True

    def __exit__(self, *exc):
        state.enabled, state.inference = self.prev

    def clone(self):
        return self.__class__(self.mode)


class _EngineFlags(threading.local):
    """Per-thread switches of the backward engine that ember keeps only to report them: its
    backward always runs in the calling thread and lays out gradients as the parameter."""

    multithreading = True
    grad_layout = True


_flags = _EngineFlags()


def is_multithreading_enabled() -> bool:
    """Whether backward may use per-device worker threads (``set_multithreading_enabled``)."""
    return _flags.multithreading


def is_view_replay_enabled() -> bool:
    """Whether views are replayed instead of as_strided in backward: always False in ember, as
    torch's default."""
    return False


class _FlagSwitch(_DecoratorContextManager):
    """Set a flag of ``_flags`` at once; as a context manager restore it on exit, as a decorator
    set it only during each call."""

    _name = ""

    def __init__(self, mode: bool) -> None:
        self.prev = getattr(_flags, self._name)
        self.mode = bool(mode)
        setattr(_flags, self._name, self.mode)

    def __call__(self, func):
        setattr(_flags, self._name, self.prev)
        return super().__call__(func)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        setattr(_flags, self._name, self.prev)

    def clone(self):
        return self.__class__(self.mode)


class set_multithreading_enabled(_FlagSwitch):
    """Enable or disable multithreaded backward (thread-local, as torch); ember's backward runs
    in the calling thread either way, so only ``is_multithreading_enabled`` changes."""

    _name = "multithreading"


class enforce_grad_layout_policy(_FlagSwitch):
    """Enforce (default) or relax the rule that accumulated gradients take their parameter's
    strides; ember's gradients always do, so the switch is only recorded."""

    _name = "grad_layout"
