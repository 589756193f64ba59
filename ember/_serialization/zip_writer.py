"""A small writer for PyTorch's checkpoint zip container: STORED records, 64-byte aligned."""

from __future__ import annotations

import struct
import zlib

ALIGN = 64
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_ZIP64_EOCD = struct.Struct("<IQHHIIQQQQ")
_ZIP64_LOC = struct.Struct("<IIQI")
_EOCD = struct.Struct("<IHHHHIIH")
_MAX32 = 0xFFFFFFFF  # the "see the zip64 extra field" marker
ZIP64_AT = _MAX32  # sizes and offsets from here on go into zip64 extra fields
_DOS_DATE = 0x21  # 1980-01-01, the earliest date a zip entry can carry
_FLAGS = 0x0800  # names are UTF-8


class ZipWriter:
    """Write records one after another into a binary stream; ``close()`` writes the directory."""

    def __init__(self, stream, prefix: str):
        self._f = stream
        self._prefix = prefix
        self._pos = 0  # offsets are relative to the start of the archive
        self._entries: list[tuple[bytes, int, int, int]] = []  # name, crc, size, header offset

    def _write(self, data) -> None:
        self._f.write(data)
        self._pos += len(data) if isinstance(data, bytes) else memoryview(data).nbytes

    def write_record(self, name: str, data) -> None:
        """Append ``<prefix>/<name>`` holding the bytes of ``data`` (bytes or a uint8 buffer)."""
        view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        size = len(view)
        crc = 0
        step = 1 << 26
        for i in range(0, size, step):
            crc = zlib.crc32(view[i : i + step], crc)
        fname = f"{self._prefix}/{name}".encode()
        offset = self._pos
        zip64 = size >= ZIP64_AT
        extra = struct.pack("<HHQQ", 1, 16, size, size) if zip64 else b""
        # pad with a b"FB" extra field so that the payload starts on an ALIGN boundary
        used = offset + _LOCAL.size + len(fname) + len(extra) + 4
        pad = -used % ALIGN
        extra += b"FB" + struct.pack("<H", pad) + b"\0" * pad
        shown = _MAX32 if zip64 else size
        self._write(
            _LOCAL.pack(
                0x04034B50,
                45 if zip64 else 20,
                _FLAGS,
                0,
                0,
                _DOS_DATE,
                crc,
                shown,
                shown,
                len(fname),
                len(extra),
            )
        )
        self._write(fname)
        self._write(extra)
        for i in range(0, size, step):
            self._write(view[i : i + step])
        self._entries.append((fname, crc, size, offset))

    def close(self) -> None:
        """Write the central directory and the (zip64) end records."""
        cd_start = self._pos
        for fname, crc, size, offset in self._entries:
            fields = []
            if size >= ZIP64_AT:
                fields += [size, size]
            if offset >= ZIP64_AT:
                fields.append(offset)
            extra = (
                struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if fields else b""
            )
            big = _MAX32 if size >= ZIP64_AT else size
            self._write(
                _CENTRAL.pack(
                    0x02014B50,
                    45,
                    45 if fields else 20,
                    _FLAGS,
                    0,
                    0,
                    _DOS_DATE,
                    crc,
                    big,
                    big,
                    len(fname),
                    len(extra),
                    0,
                    0,
                    0,
                    0,
                    _MAX32 if offset >= ZIP64_AT else offset,
                )
            )
            self._write(fname)
            self._write(extra)
        cd_size = self._pos - cd_start
        n = len(self._entries)
        eocd64 = self._pos
        self._write(_ZIP64_EOCD.pack(0x06064B50, 44, 45, 45, 0, 0, n, n, cd_size, cd_start))
        self._write(_ZIP64_LOC.pack(0x07064B50, 0, eocd64, 1))
        self._write(
            _EOCD.pack(
                0x06054B50,
                0,
                0,
                min(n, 0xFFFF),
                min(n, 0xFFFF),
                _MAX32 if cd_size >= ZIP64_AT else cd_size,
                _MAX32 if cd_start >= ZIP64_AT else cd_start,
                0,
            )
        )
