"""Fetch a dump over http(s) or copy it from a local path, atomically, with an optional sha256."""

from __future__ import annotations

import hashlib
import logging
import urllib.error
import urllib.request
from pathlib import Path

from .runtime import atomic_path

log = logging.getLogger(__name__)

CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """The source could not be fetched, or its checksum did not match."""


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def fetch(source: str, dest: str | Path, sha256: str | None = None, timeout: float = 60.0) -> str:
    """Copy ``source`` (URL or path) to ``dest``; return the sha256 of what was written.

    The file appears at ``dest`` only once it is complete and verified.
    """
    digest = hashlib.sha256()
    done = 0
    with atomic_path(dest) as tmp, open(tmp, "wb") as out:
        try:
            stream = (
                urllib.request.urlopen(source, timeout=timeout)
                if is_url(source)
                else open(source, "rb")  # noqa: SIM115 (closed by the with below)
            )
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DownloadError(f"cannot open {source}: {exc}") from exc
        with stream:
            total = int(getattr(stream, "headers", {}).get("Content-Length") or 0)
            try:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if done % (64 * CHUNK) < CHUNK:
                        log.info("%s: %.1f MiB of %s", source, done / CHUNK, total or "?")
            except (urllib.error.URLError, OSError) as exc:
                raise DownloadError(
                    f"transfer of {source} failed after {done} bytes: {exc}"
                ) from exc
        if total and done != total:
            raise DownloadError(f"{source}: got {done} bytes, server announced {total}")
        out.flush()
        actual = digest.hexdigest()
        if sha256 and actual.lower() != sha256.lower():
            raise DownloadError(f"sha256 mismatch for {source}: expected {sha256}, got {actual}")
    log.info("fetched %s (%d bytes, sha256 %s)", source, done, actual)
    return actual


def verify_sha256(path: str | Path, expected: str) -> None:
    """Check a local dump against the checksum given in the config."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    if digest.hexdigest().lower() != expected.lower():
        raise DownloadError(
            f"sha256 mismatch for {path}: expected {expected}, got {digest.hexdigest()}"
        )
