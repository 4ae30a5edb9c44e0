"""Safe, bounded reading of a ``.tar.gz`` held in memory: regular flat files only.

The gzip stream is inflated a piece at a time as the tar reader asks for it, so memory holds the
compressed input and the entries kept, never the whole inflated archive besides. Every limit is
checked before the bytes it bounds are read: an entry's size from its tar header against the
per-entry and total limits, the inflated byte count (headers and padding included) against the
total limit, and the compression ratio against what only a bomb reaches.
"""

from __future__ import annotations

import io
import tarfile
import zlib

from pydantic import BaseModel, ConfigDict

from belay.gate.errors import BundleError, quoted

__all__ = ["BundleLimits", "read_tar_gz"]

_MIB = 1024 * 1024


class BundleLimits(BaseModel):
    """Bounds on what a bundle may hold and unpack to.

    The defaults fit real Portage bundles with room (the largest real scan set the project
    knows inflates to about 45 MB): at most 64 files, 256 MiB inflated in all and 128 MiB for
    one file, JSON nested at most 64 levels.
    """

    model_config = ConfigDict(frozen=True)

    max_compressed_bytes: int = 128 * _MIB
    max_total_bytes: int = 256 * _MIB
    max_entry_bytes: int = 128 * _MIB
    max_entries: int = 64
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 8 * _MIB
    max_json_depth: int = 64


class _Inflater(io.RawIOBase):
    """A read-only file over gzip bytes that inflates on demand and enforces the limits."""

    def __init__(self, data: bytes, name: str, limits: BundleLimits) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._name = name
        self._limits = limits
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._pending = memoryview(b"")
        self._offset = 0
        self.inflated = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while self._offset >= len(self._pending):
            if self._inflater.eof or not self._more():
                return 0
        n = min(len(buffer), len(self._pending) - self._offset)
        buffer[:n] = self._pending[self._offset : self._offset + n]
        self._offset += n
        return n

    def _more(self) -> bool:
        """Inflate the next piece into the (empty) pending buffer; False at the input's end."""
        chunk = self._inflater.unconsumed_tail or self._next_input()
        if not chunk:
            return False
        try:
            out = self._inflater.decompress(chunk, _MIB)
        except zlib.error as err:
            raise BundleError(self._name, f"broken gzip data: {err}") from None
        self.inflated += len(out)
        limits = self._limits
        if self.inflated > limits.max_total_bytes:
            raise BundleError(self._name, f"unpacks to more than {limits.max_total_bytes} bytes")
        if self.inflated > limits.ratio_floor_bytes and self.inflated > limits.max_ratio * len(
            self._data
        ):
            raise BundleError(
                self._name, f"compression ratio above {limits.max_ratio:g} (refused as a bomb)"
            )
        self._pending = memoryview(out)
        self._offset = 0
        return True

    def cut_short(self) -> bool:
        """True when all the input was read and the gzip stream never ended (truncated)."""
        return not self._inflater.eof and self._pos >= len(self._data)

    def _next_input(self) -> bytes:
        if self._pos >= len(self._data):
            return b""
        end = min(self._pos + _MIB, len(self._data))
        chunk = bytes(self._data[self._pos : end])
        self._pos = end
        return chunk

    def finish(self) -> None:
        """Read to the end of the gzip stream and check nothing is cut or follows it."""
        while not self._inflater.eof:
            if not self._more():
                raise BundleError(self._name, "truncated gzip data")
        rest = self._inflater.unused_data + bytes(self._data[self._pos :])
        if rest.strip(b"\x00"):
            raise BundleError(self._name, "data after the end of the gzip stream")


_MAX_EXTENSION_BYTES = 64 * 1024
_EXTENSIONS = frozenset(
    {
        tarfile.GNUTYPE_LONGNAME,
        tarfile.GNUTYPE_LONGLINK,
        tarfile.XHDTYPE,
        tarfile.XGLTYPE,
        tarfile.SOLARIS_XHDTYPE,
    }
)


class _HeaderRefused(Exception):
    """A tar header Belay will not process (raised inside tarfile, turned into BundleError)."""


class _BoundedTarInfo(tarfile.TarInfo):
    """Tar headers with bounds: tarfile reads an extension header (PAX, GNU long name) whole
    into memory before the member it describes, so its size is checked first; sparse files
    (whose maps expand in memory) are refused."""

    def _proc_member(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise _HeaderRefused("a sparse file entry (refused)")
        if self.type in _EXTENSIONS and self.size > _MAX_EXTENSION_BYTES:
            raise _HeaderRefused(f"an extension header larger than {_MAX_EXTENSION_BYTES} bytes")
        member = super()._proc_member(archive)  # type: ignore[misc]
        if any(key.startswith("GNU.sparse") for key in member.pax_headers):
            raise _HeaderRefused("a sparse file entry (refused)")
        return member  # type: ignore[no-any-return]


def _safe_label(member: tarfile.TarInfo, name: str) -> str:
    label = member.name
    if label.startswith("./"):
        label = label[2:]
    if (
        not label
        or label in (".", "..")
        or "/" in label
        or "\\" in label
        or "\x00" in label
        or label.startswith("~")
    ):
        raise BundleError(name, f"entry {quoted(member.name)} is not a plain file name")
    if not member.isreg():
        raise BundleError(
            name, f"entry {quoted(member.name)} is not a regular file (links refused)"
        )
    return label


def read_tar_gz(data: bytes, name: str, limits: BundleLimits) -> dict[str, bytes]:
    """The regular files of a ``.tar.gz`` (label → bytes); :class:`BundleError` when unsafe."""
    if len(data) > limits.max_compressed_bytes:
        raise BundleError(name, f"larger than {limits.max_compressed_bytes} bytes")
    if data[:2] != b"\x1f\x8b":
        raise BundleError(name, "not a gzip file")
    stream = _Inflater(data, name, limits)
    entries: dict[str, bytes] = {}
    kept = 0
    try:
        with tarfile.open(
            fileobj=io.BufferedReader(stream), mode="r|", tarinfo=_BoundedTarInfo
        ) as archive:
            for count, member in enumerate(archive, start=1):
                if count > limits.max_entries:
                    raise BundleError(name, f"more than {limits.max_entries} entries")
                label = _safe_label(member, name)
                if label in entries:
                    raise BundleError(name, f"entry {quoted(label)} appears twice")
                if member.size > limits.max_entry_bytes:
                    raise BundleError(
                        name,
                        f"entry {quoted(label)} unpacks to more than "
                        f"{limits.max_entry_bytes} bytes",
                    )
                kept += member.size
                if kept > limits.max_total_bytes:
                    raise BundleError(name, f"unpacks to more than {limits.max_total_bytes} bytes")
                handle = archive.extractfile(member)
                if handle is None:  # pragma: no cover - regular files always have data
                    raise BundleError(name, f"entry {quoted(label)} has no data")
                entries[label] = handle.read()
    except BundleError:
        raise
    except _HeaderRefused as err:
        raise BundleError(name, f"holds {err}") from None
    except RecursionError:
        raise BundleError(name, "holds a chain of extension headers too long to read") from None
    except (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError) as err:
        if stream.cut_short():
            raise BundleError(name, "truncated gzip data") from None
        raise BundleError(name, f"not a readable tar archive: {err}") from None
    stream.finish()
    return entries
