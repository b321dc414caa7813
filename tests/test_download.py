import gzip
import hashlib
import http.server
import threading
from functools import partial

import pytest
from prodembed.download import DownloadError, fetch, verify_sha256

BODY = gzip.compress(b"{'asin': 'A'}\n" * 100_000, mtime=0)


@pytest.fixture
def server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving tmp_path."""
    (tmp_path / "dump.json.gz").write_bytes(BODY)
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
    good = hashlib.sha256(BODY).hexdigest()
    assert fetch(f"{server}/dump.json.gz", dest, sha256=good) == good
    assert dest.read_bytes() == BODY


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


class NoLengthHandler(http.server.BaseHTTPRequestHandler):
    """Sends the server's ``bodies`` with no Content-Length: the body ends where the
    connection closes, as a cut transfer also does."""

    def do_GET(self):
        body = self.server.bodies.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def no_length_server():
    records = b"".join(b"{'asin': 'P%05d', 'title': 'T'}\n" % i for i in range(20_000))
    whole = gzip.compress(records)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NoLengthHandler)
    httpd.bodies = {
        "/whole.json.gz": whole,
        "/two-members.json.gz": whole + gzip.compress(records) + b"\0" * 32,
        "/cut.json.gz": whole[: len(whole) // 2],
        "/page.json.gz": b"<!DOCTYPE html><html>Please log in</html>\n",
        "/empty.json": b"",
    }
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.bodies
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("name", ["whole.json.gz", "two-members.json.gz"])
def test_complete_gzip_without_length_is_kept(no_length_server, tmp_path, name):
    url, bodies = no_length_server
    fetch(f"{url}/{name}", tmp_path / "meta.json.gz")
    assert (tmp_path / "meta.json.gz").read_bytes() == bodies[f"/{name}"]


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("cut.json.gz", "in the middle of its gzip stream"),
        ("page.json.gz", "is named .gz but is not gzip"),
        ("empty.json", "is empty"),
        ("nope.json.gz", "404"),
    ],
)
def test_bad_body_is_refused_and_leaves_no_file(no_length_server, tmp_path, name, cause):
    url, _ = no_length_server
    dest = tmp_path / "out" / "meta.json.gz"
    with pytest.raises(DownloadError) as err:
        fetch(f"{url}/{name}", dest, dataset="music")
    message = str(err.value)
    assert cause in message and "\n" not in message
    assert "rerun" in message or "datasets.music.source" in message
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_checksum_mismatch_names_the_config_keys(tmp_path):
    src = tmp_path / "src.json"
    src.write_bytes(b"{}\n")
    with pytest.raises(DownloadError, match=r"datasets\.music\.sha256 .*datasets\.music\.source"):
        verify_sha256(src, "f" * 64, dataset="music")
