"""A bounds-checked reader for zip archives (PyTorch checkpoints): never reads past the file,
never allocates more than a record's declared size, verifies CRC-32 of what it reads."""

from __future__ import annotations

import mmap
import struct
import zlib

import numpy as np

_EOCD = struct.Struct("<IHHHHIIH")
_ZIP64_LOC = struct.Struct("<IIQI")
_ZIP64_EOCD = struct.Struct("<IQHHIIQQQQ")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_MAX32 = 0xFFFFFFFF


class BadZipError(RuntimeError):
    """The archive is truncated or corrupted."""


def _bad(msg: str) -> BadZipError:
    return BadZipError(f"PytorchStreamReader failed reading zip archive: {msg}")


class ZipEntry:
    __slots__ = ("name", "method", "flags", "crc", "csize", "size", "offset")

    def __init__(self, name, method, flags, crc, csize, size, offset):
        self.name, self.method, self.flags, self.crc = name, method, flags, crc
        self.csize, self.size, self.offset = csize, size, offset


class ZipReader:
    """Random access to the records of a zip archive held in a seekable binary stream."""

    def __init__(self, stream, mmap_path: str | None = None):
        self._f = stream
        stream.seek(0, 2)
        self.file_size = stream.tell()
        self.entries: list[ZipEntry] = []
        self.by_name: dict[str, ZipEntry] = {}
        self._mm = None
        self._parse()
        if mmap_path is not None and self.file_size:
            with open(mmap_path, "rb") as fh:  # private (copy-on-write) map, as torch's mmap
                self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_COPY)

    def _read_at(self, pos: int, n: int) -> bytes:
        if pos < 0 or n < 0 or pos + n > self.file_size:
            raise _bad("a structure lies outside the file (truncated archive?)")
        self._f.seek(pos)
        b = self._f.read(n)
        if len(b) != n:
            raise _bad("unexpected end of file")
        return b

    def _parse(self) -> None:
        size = self.file_size
        tail_len = min(size, _EOCD.size + 0xFFFF)
        tail = self._read_at(size - tail_len, tail_len)
        i = tail.rfind(b"PK\x05\x06")
        while i >= 0 and i + _EOCD.size > len(tail):
            i = tail.rfind(b"PK\x05\x06", 0, i)
        if i < 0:
            raise _bad("failed finding central directory")
        eocd_pos = size - tail_len + i
        _, disk, cd_disk, n_disk, n, cd_size, cd_off, _ = _EOCD.unpack_from(tail, i)
        if disk != 0 or cd_disk != 0 or n_disk != n:
            raise _bad("multi-disk archives are not supported")
        end_of_cd = eocd_pos
        loc_pos = eocd_pos - _ZIP64_LOC.size
        if loc_pos >= 0 and self._read_at(loc_pos, 4) == b"PK\x06\x07":
            _, _, z64_off, _ = _ZIP64_LOC.unpack(self._read_at(loc_pos, _ZIP64_LOC.size))
            z64_pos = loc_pos - _ZIP64_EOCD.size
            rec = self._read_at(z64_pos, _ZIP64_EOCD.size) if z64_pos >= 0 else b""
            if rec[:4] != b"PK\x06\x06":
                raise _bad("corrupted zip64 end of central directory")
            _, _, _, _, _, _, _, n, cd_size, cd_off = _ZIP64_EOCD.unpack(rec)
            end_of_cd = z64_pos
        concat = end_of_cd - cd_size - cd_off  # bytes in front of the archive, if any
        if concat < 0 or cd_size < 0 or n * _CENTRAL.size > cd_size:
            raise _bad("corrupted central directory")
        cd = self._read_at(cd_off + concat, cd_size)
        pos = 0
        for _ in range(n):
            if pos + _CENTRAL.size > len(cd) or cd[pos : pos + 4] != b"PK\x01\x02":
                raise _bad("corrupted central directory entry")
            (_, _, _, flags, method, _, _, crc, csize, usize, nlen, elen, clen, _, _, _, off) = (
                _CENTRAL.unpack_from(cd, pos)
            )
            pos += _CENTRAL.size
            if pos + nlen + elen + clen > len(cd):
                raise _bad("corrupted central directory entry")
            raw = cd[pos : pos + nlen]
            extra = cd[pos + nlen : pos + nlen + elen]
            pos += nlen + elen + clen
            usize, csize, off = _zip64_fields(extra, usize, csize, off)
            name = raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")
            e = ZipEntry(name, method, flags, crc, csize, usize, off + concat)
            self.entries.append(e)
            self.by_name.setdefault(name, e)

    def _data_start(self, e: ZipEntry) -> int:
        hdr = self._read_at(e.offset, _LOCAL.size)
        if hdr[:4] != b"PK\x03\x04":
            raise _bad(f"bad local header for record '{e.name}'")
        nlen, elen = struct.unpack_from("<HH", hdr, 26)
        start = e.offset + _LOCAL.size + nlen + elen
        if start + e.csize > self.file_size:
            raise _bad(f"record '{e.name}' runs past the end of the file (truncated?)")
        return start

    def read(self, name: str) -> np.ndarray:
        """The record's bytes as a writable uint8 array (a copy-on-write map with mmap)."""
        e = self.by_name[name]
        if e.flags & 1:
            raise _bad(f"record '{e.name}' is encrypted")
        start = self._data_start(e)
        if e.method == 0:
            if e.csize != e.size:
                raise _bad(f"stored record '{e.name}' has mismatched sizes")
            if self._mm is not None:
                if start + e.size > len(self._mm):
                    raise _bad("the file changed while it was being read")
                return np.frombuffer(self._mm, np.uint8, e.size, start)
            out = np.empty(e.size, np.uint8)
            self._f.seek(start)
            if e.size and self._f.readinto(memoryview(out)) != e.size:
                raise _bad("unexpected end of file")
        elif e.method == 8:
            if e.size > 1032 * e.csize + 64:  # deflate cannot expand more than that
                raise _bad(f"record '{e.name}' declares an impossible size")
            d = zlib.decompressobj(-15)
            try:
                data = d.decompress(self._read_at(start, e.csize), e.size + 1)
            except zlib.error as err:
                raise _bad(f"record '{e.name}' does not inflate: {err}") from None
            if len(data) != e.size:
                raise _bad(f"record '{e.name}' inflates to the wrong size")
            out = np.frombuffer(bytearray(data), np.uint8)
        else:
            raise _bad(f"record '{e.name}' uses unsupported compression method {e.method}")
        if zlib.crc32(out) != e.crc:
            raise _bad(f"invalid checksum for record '{e.name}' (corrupted file?)")
        return out

    def read_bytes(self, name: str) -> bytes:
        return self.read(name).tobytes()

    def record_size(self, name: str) -> int:
        return self.by_name[name].size


def _zip64_fields(extra: bytes, usize: int, csize: int, off: int) -> tuple[int, int, int]:
    i = 0
    while i + 4 <= len(extra):
        tag, ln = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4 : i + 4 + ln]
        if tag == 1:
            vals = [struct.unpack_from("<Q", body, j)[0] for j in range(0, len(body) - 7, 8)]
            k = 0
            if usize == _MAX32 and k < len(vals):
                usize, k = vals[k], k + 1
            if csize == _MAX32 and k < len(vals):
                csize, k = vals[k], k + 1
            if off == _MAX32 and k < len(vals):
                off = vals[k]
            break
        i += 4 + ln
    return usize, csize, off
