"""Fetch a dump over http(s) or copy it from a local path, atomically, with an optional sha256.

A body cut short is refused: by its announced length, and for gzip (whatever the server says)
by the gzip trailer, which only a complete stream has. A plain-text body sent without a
length cannot be checked here; its cut last line shows up as a malformed line when parsed.
"""

from __future__ import annotations

import hashlib
import logging
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

from .runtime import atomic_path

log = logging.getLogger(__name__)

CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


class DownloadError(RuntimeError):
    """The source could not be fetched, or its checksum did not match (the message says which
    config key or file to change)."""


class _GzipCheck:
    """Inflates a gzip body as it arrives (output dropped) to tell whether it is complete."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)

    def feed(self, data: bytes) -> None:
        """Raises zlib.error on corrupt data; members may be concatenated and zero-padded."""
        while data:
            if self._inflate.eof:
                data = data.lstrip(b"\0")
                if not data:
                    return
                self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
            self._inflate.decompress(data, CHUNK)
            data = self._inflate.unconsumed_tail or self._inflate.unused_data

    @property
    def complete(self) -> bool:
        return self._inflate.eof


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def fetch(
    source: str,
    dest: str | Path,
    sha256: str | None = None,
    timeout: float = 60.0,
    dataset: str = "<name>",
) -> str:
    """Copy ``source`` (URL or path) to ``dest``; return the sha256 of what was written.

    The file appears at ``dest`` only once it is complete and verified; ``dataset`` names the
    dataset in the config keys that error messages point to.
    """
    key = f"datasets.{dataset}.source"
    with atomic_path(dest) as tmp, open(tmp, "wb") as out:
        stream = _open(source, timeout, key)
        with stream:
            total = int(getattr(stream, "headers", {}).get("Content-Length") or 0)
            done, actual = _copy(stream, out, source, total, key)
        if sha256 and actual.lower() != sha256.lower():
            raise DownloadError(
                f"sha256 mismatch for {source}: expected {sha256}, got {actual}: the file is not "
                f"the one datasets.{dataset}.sha256 pins; fix that checksum or {key}"
            )
    log.info("fetched %s (%d bytes, sha256 %s)", source, done, actual)
    return actual


def _open(source: str, timeout: float, key: str):
    try:
        if is_url(source):
            return urllib.request.urlopen(source, timeout=timeout)
        return open(source, "rb")  # closed by the caller's with
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DownloadError(f"cannot open {source}: {exc}: check {key} in your config") from exc


def _copy(stream, out, source: str, total: int, key: str) -> tuple[int, str]:
    """Copy the body to ``out``; return its size and sha256, refusing a body cut short."""
    digest, done, gzip_check, last = hashlib.sha256(), 0, None, b""
    try:
        while chunk := stream.read(CHUNK):
            if gzip_check is None:
                gzip_check = _gzip_check(chunk, source, key)
            if gzip_check:
                gzip_check.feed(chunk)
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            last = chunk[-1:]
            if done % (64 * CHUNK) < CHUNK:
                log.info("%s: %.1f MiB of %s", source, done / CHUNK, total or "?")
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(
            f"transfer of {source} failed after {done} bytes: {exc}: rerun to fetch it again"
        ) from exc
    except zlib.error as exc:
        raise DownloadError(
            f"{source}: corrupt gzip stream after {done} bytes ({exc}): rerun to fetch it "
            f"again; if it stays corrupt, point {key} at an intact copy"
        ) from exc
    _check_complete(source, done, total, gzip_check, last, key)
    out.flush()
    return done, digest.hexdigest()


def _gzip_check(first: bytes, source: str, key: str) -> _GzipCheck | bool:
    """A checker for a gzip body, False for another one; a .gz name must hold gzip."""
    if first.startswith(_GZIP_MAGIC):
        return _GzipCheck()
    if urllib.parse.urlsplit(source).path.endswith(".gz"):
        raise DownloadError(
            f"{source} is named .gz but is not gzip (it starts with {first[:40]!r}): "
            f"an error page? check {key} in your config"
        )
    return False


def _check_complete(source: str, done: int, total: int, gzip_check, last: bytes, key: str) -> None:
    """Refuse an empty body, or one shorter than announced or than its gzip stream."""
    if not done:
        raise DownloadError(f"{source} is empty: check {key} in your config")
    if total and done != total:
        raise DownloadError(
            f"{source}: got {done} bytes, the server announced {total}: the transfer was cut "
            "short; rerun to fetch it again"
        )
    if gzip_check and not gzip_check.complete:
        raise DownloadError(
            f"{source}: the body ends after {done} bytes in the middle of its gzip stream "
            "(no gzip trailer): the transfer was cut short; rerun to fetch it again"
        )
    if not gzip_check and last != b"\n":
        log.warning("%s: the last line has no newline: the file may be cut short", source)


def verify_sha256(path: str | Path, expected: str, dataset: str = "<name>") -> None:
    """Check a local dump against the checksum given in the config."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    if digest.hexdigest().lower() != expected.lower():
        raise DownloadError(
            f"sha256 mismatch for {path}: expected {expected}, got {digest.hexdigest()}: the "
            f"file is not the one datasets.{dataset}.sha256 pins; fix that checksum or "
            f"datasets.{dataset}.source"
        )
