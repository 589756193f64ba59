"""torchvision's image/video backend switches, and the optional Pillow import behind images."""

from __future__ import annotations

from types import ModuleType

__all__ = [
    "get_image_backend",
    "set_image_backend",
    "get_video_backend",
    "set_video_backend",
    "require_pil",
    "pil_available",
]

_IMAGE_BACKEND = "PIL"
_VIDEO_BACKEND = "pyav"

PIL_MISSING = (
    "this part of ember.vision needs Pillow, an optional extra: pip install 'ember[vision]' "
    "(or pip install pillow)"
)


def get_image_backend() -> str:
    """The name of the package used to load images ('PIL'), as torchvision.get_image_backend."""
    return _IMAGE_BACKEND


def set_image_backend(backend: str) -> None:
    """Choose the image loader; ember supports 'PIL' ('accimage' is refused as unavailable)."""
    global _IMAGE_BACKEND
    if backend not in ("PIL", "accimage"):
        raise ValueError(f"Invalid backend '{backend}'. Options are 'PIL' and 'accimage'")
    if backend == "accimage":
        raise ValueError("ember.vision does not support the accimage backend; use 'PIL'")
    _IMAGE_BACKEND = backend


def get_video_backend() -> str:
    """The video backend name, as torchvision.get_video_backend (ember decodes no video)."""
    return _VIDEO_BACKEND


def set_video_backend(backend: str) -> None:
    """Record the video backend name; ember.vision reads no video, so only the name is kept."""
    global _VIDEO_BACKEND
    if backend not in ("pyav", "video_reader", "cuda"):
        raise ValueError(
            f"Invalid video backend '{backend}'. Options are 'pyav', 'video_reader' and 'cuda'"
        )
    _VIDEO_BACKEND = backend


def pil_available() -> bool:
    """True when Pillow can be imported."""
    try:
        require_pil()
    except ImportError:
        return False
    return True


def require_pil() -> ModuleType:
    """The ``PIL.Image`` module, or an ImportError naming the ``ember[vision]`` extra."""
    try:
        # Pillow is optional: imported only where an image is handled
        from PIL import Image
    except ImportError as exc:
        raise ModuleNotFoundError(PIL_MISSING, name="PIL") from exc
    return Image
