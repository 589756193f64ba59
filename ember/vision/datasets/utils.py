"""Downloading, checking and extracting dataset files, as torchvision.datasets.utils.

Downloads use the standard library (urllib) with a progress bar (tqdm when installed); a file
already present with the right MD5 is never fetched again. Without network access the error
names the URL and the folder to put the file in.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import pathlib
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable
from typing import Any

__all__ = [
    "calculate_md5",
    "check_md5",
    "check_integrity",
    "download_url",
    "extract_archive",
    "download_and_extract_archive",
    "verify_str_arg",
    "list_dir",
    "list_files",
    "DownloadError",
]

USER_AGENT = "pytorch/vision"


class DownloadError(RuntimeError):
    """A dataset file could not be fetched; the message says where to put it by hand."""


class _Progress:
    """tqdm's progress bar when tqdm is installed, else a plain line on stderr."""

    def __init__(self, total: int | None, desc: str) -> None:
        self.total = total
        self.done = 0
        self.desc = desc
        try:
            # tqdm is optional: only for the progress bar
            from tqdm import tqdm
        except ImportError:
            self.bar = None
        else:
            self.bar = tqdm(total=total, unit="B", unit_scale=True, desc=desc)

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        else:
            total = f"/{self.total}" if self.total else ""
            print(f"\r{self.desc}: {self.done}{total} bytes", end="", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        else:
            print(file=sys.stderr)


def _urlretrieve(url: str, filename: str, chunk_size: int = 1024 * 32) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    tmp = filename + ".part"
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            bar = _Progress(response.length, os.path.basename(filename))
            try:
                with open(tmp, "wb") as fh:
                    while chunk := response.read(chunk_size):
                        fh.write(chunk)
                        bar.update(len(chunk))
            finally:
                bar.close()
    except BaseException:
        # an interrupted download leaves no partial file behind
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    os.replace(tmp, filename)


def calculate_md5(fpath: str | os.PathLike, chunk_size: int = 1024 * 1024) -> str:
    """The MD5 hex digest of a file."""
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        while chunk := f.read(chunk_size):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(fpath: str | os.PathLike, md5: str, **kwargs: Any) -> bool:
    """True when the file's MD5 is ``md5``."""
    return md5 == calculate_md5(fpath, **kwargs)


def check_integrity(fpath: str | os.PathLike, md5: str | None = None) -> bool:
    """True when the file exists (and, given ``md5``, has that checksum)."""
    if not os.path.isfile(fpath):
        return False
    if md5 is None:
        return True
    return check_md5(fpath, md5)


def download_url(
    url: str,
    root: str | os.PathLike,
    filename: str | None = None,
    md5: str | None = None,
    max_redirect_hops: int = 3,
) -> None:
    """Fetch ``url`` into ``root/filename`` unless it is already there with the right MD5."""
    root = os.path.expanduser(root)
    if not filename:
        filename = os.path.basename(url)
    fpath = os.fspath(os.path.join(root, filename))
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5):
        return
    try:
        try:
            _urlretrieve(url, fpath)
        except (urllib.error.URLError, OSError):
            if not url.startswith("https"):
                raise
            _urlretrieve(url.replace("https:", "http:"), fpath)
    except (urllib.error.URLError, OSError) as exc:
        where = os.path.abspath(root)
        checksum = f" (MD5 {md5})" if md5 else ""
        raise DownloadError(
            f"Could not download {url}: {exc}. Without network access, download the file "
            f"elsewhere and put it in {where} as {filename}{checksum}."
        ) from exc
    if not check_integrity(fpath, md5):
        raise RuntimeError("File not found or corrupted.")


def list_dir(root: str | os.PathLike, prefix: bool = False) -> list[str]:
    """The sub-folders of ``root`` (with ``root`` prepended when ``prefix``)."""
    root = os.path.expanduser(root)
    dirs = [p for p in os.listdir(root) if os.path.isdir(os.path.join(root, p))]
    return [os.path.join(root, d) for d in dirs] if prefix else dirs


def list_files(root: str | os.PathLike, suffix: str, prefix: bool = False) -> list[str]:
    """The files of ``root`` ending with ``suffix``."""
    root = os.path.expanduser(root)
    files = [
        p for p in os.listdir(root) if os.path.isfile(os.path.join(root, p)) and p.endswith(suffix)
    ]
    return [os.path.join(root, f) for f in files] if prefix else files


_ARCHIVES = (".tar", ".zip")
_COMPRESSIONS = {".bz2": bz2.open, ".gz": gzip.open, ".xz": lzma.open}
_ALIASES = {".tbz": (".tar", ".bz2"), ".tbz2": (".tar", ".bz2"), ".tgz": (".tar", ".gz")}


def _detect_file_type(file: str | os.PathLike) -> tuple[str, str | None, str | None]:
    """(suffix, archive type, compression) from the file name."""
    suffixes = pathlib.Path(file).suffixes
    if not suffixes:
        raise RuntimeError(
            f"File '{file}' has no suffixes that could be used to detect the archive type and "
            "compression."
        )
    suffix = suffixes[-1]
    if suffix in _ALIASES:
        return (suffix, *_ALIASES[suffix])
    if suffix in _ARCHIVES:
        return suffix, suffix, None
    if suffix in _COMPRESSIONS:
        if len(suffixes) > 1 and suffixes[-2] in _ARCHIVES:
            return suffixes[-2] + suffix, suffixes[-2], suffix
        return suffix, None, suffix
    valid = sorted(set(_ALIASES) | set(_ARCHIVES) | set(_COMPRESSIONS))
    raise RuntimeError(
        f"Unknown compression or archive type: '{suffix}'.\nKnown suffixes are: '{valid}'."
    )


def extract_archive(
    from_path: str | os.PathLike,
    to_path: str | os.PathLike | None = None,
    remove_finished: bool = False,
) -> str | os.PathLike:
    """Extract a tar/zip archive or decompress a .gz/.bz2/.xz file into ``to_path``."""
    if to_path is None:
        to_path = os.path.dirname(from_path)
    suffix, archive, compression = _detect_file_type(from_path)
    if not archive:
        out = os.path.join(to_path, os.path.basename(from_path).replace(suffix, ""))
        with _COMPRESSIONS[compression](from_path, "rb") as rfh, open(out, "wb") as wfh:
            wfh.write(rfh.read())
        if remove_finished:
            os.remove(from_path)
        return out if isinstance(from_path, str) else pathlib.Path(out)
    if archive == ".tar":
        mode = f"r:{compression[1:]}" if compression else "r"
        with tarfile.open(from_path, mode) as tar:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: refuse unsafe members
                tar.extractall(to_path, filter="data")
            else:
                tar.extractall(to_path)
    else:
        with zipfile.ZipFile(from_path, "r") as zf:
            zf.extractall(to_path)
    if remove_finished:
        os.remove(from_path)
    return to_path


def download_and_extract_archive(
    url: str,
    download_root: str | os.PathLike,
    extract_root: str | os.PathLike | None = None,
    filename: str | None = None,
    md5: str | None = None,
    remove_finished: bool = False,
) -> None:
    """download_url, then extract_archive into ``extract_root`` (default: the download folder)."""
    download_root = os.path.expanduser(download_root)
    if extract_root is None:
        extract_root = download_root
    if not filename:
        filename = os.path.basename(url)
    download_url(url, download_root, filename, md5)
    extract_archive(os.path.join(download_root, filename), extract_root, remove_finished)


def _iterable_to_str(iterable: Iterable) -> str:
    return "'" + "', '".join([str(item) for item in iterable]) + "'"


def verify_str_arg(
    value: Any,
    arg: str | None = None,
    valid_values: Iterable | None = None,
    custom_msg: str | None = None,
) -> Any:
    """Check that ``value`` is a string among ``valid_values``; torchvision's messages."""
    if not isinstance(value, str):
        if arg is None:
            msg = f"Expected type str, but got type {type(value)}."
        else:
            msg = f"Expected type str for argument {arg}, but got type {type(value)}."
        raise ValueError(msg)
    if valid_values is None:
        return value
    if value not in valid_values:
        if custom_msg is not None:
            raise ValueError(custom_msg)
        raise ValueError(
            f"Unknown value '{value}' for argument {arg}. Valid values are "
            f"{{{_iterable_to_str(valid_values)}}}."
        )
    return value
