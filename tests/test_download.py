import hashlib
import http.server
import threading
from functools import partial

import pytest
from prodembed.download import DownloadError, fetch, verify_sha256


@pytest.fixture
def server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving tmp_path."""
    (tmp_path / "dump.json.gz").write_bytes(b"x" * 300_000)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_verifies_checksum(server, tmp_path):
    dest = tmp_path / "out" / "meta.json.gz"
    good = hashlib.sha256(b"x" * 300_000).hexdigest()
    assert fetch(f"{server}/dump.json.gz", dest, sha256=good) == good
    assert dest.read_bytes() == b"x" * 300_000


def test_checksum_mismatch_leaves_no_file(server, tmp_path):
    dest = tmp_path / "out" / "meta.json.gz"
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        fetch(f"{server}/dump.json.gz", dest, sha256="0" * 64)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no temporary left behind either


def test_missing_url_is_a_clear_error(server, tmp_path):
    dest = tmp_path / "meta.json.gz"
    with pytest.raises(DownloadError, match="404"):
        fetch(f"{server}/nope.json.gz", dest)
    assert not dest.exists()


def test_local_copy_and_verify(tmp_path):
    src = tmp_path / "src.json"
    src.write_bytes(b"{}\n")
    digest = fetch(str(src), tmp_path / "copy.json")
    verify_sha256(src, digest)
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        verify_sha256(src, "f" * 64)
