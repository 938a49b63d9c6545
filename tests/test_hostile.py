"""Every hostile-corpus case through Flask's test client and through the live server on 127.0.0.1: never a 500, always
the documented status and error code (or the right digit), errors that leak no paths or tracebacks, and a good
request answered right after each bad one."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest

from benchmarks.live_server import free_port, start_server, stop, wait_ready
from tests.hostile.make_corpus import Case, Digits, build_corpus, encode

REPO = Path(__file__).resolve().parent.parent
LEAKS = ("Traceback", 'File "', str(REPO), "/work", "site-packages", "/tmp/")

pytestmark = pytest.mark.slow  # trains a small model on real MNIST (trained_weights)


@pytest.fixture(scope="session")
def digits(mnist) -> Digits:
    return Digits(mnist.test_x.numpy(), mnist.test_y.numpy())


@pytest.fixture(scope="session")
def corpus(tmp_path_factory, digits) -> list[Case]:
    return build_corpus(tmp_path_factory.mktemp("hostile"), digits)


@pytest.fixture(scope="session")
def good(digits) -> tuple[Case, int]:
    """The control request sent after every case: a plain PNG of a clear digit."""
    return Case("control", "raw", encode(digits.paper(0, 56), "PNG"), "image/png"), digits.label(0)


@pytest.fixture(scope="module")
def client(trained_weights):
    from service.app import create_app

    return create_app({"WEIGHTS_PATH": str(trained_weights), "TESTING": True}).test_client()


def problems(case: Case, status: int, content_type: str, body: bytes) -> list[str]:
    """Everything wrong with one answer, as readable lines (empty when it is right)."""
    where = f"{case.name}: got {status}"
    try:
        doc = json.loads(body)
    except ValueError:
        return [f"{where}, body is not JSON ({content_type}): {body[:120]!r}"]
    text = body.decode("utf-8", "replace")
    found = [f"{where}, body leaks {leak!r}: {text[:200]}" for leak in LEAKS if leak in text]
    if status >= 500:
        return found + [f"{where} (5xx): {text[:300]}"]
    if not content_type.startswith("application/json"):
        found.append(f"{where}, Content-Type {content_type!r}")
    if case.ok:
        digits = [a.get("digit") for a in doc] if isinstance(doc, list) else doc.get("digit")
        if status != 200 or digits != case.digit:
            found.append(f"{where}, expected 200 digit {case.digit}, answer {text[:200]}")
        return found
    code = doc.get("error", {}).get("code") if isinstance(doc, dict) and isinstance(doc.get("error"), dict) else None
    if (status, code) != (case.status, case.code):
        found.append(f"{where} {code!r}, expected {case.status} {case.code!r}: {text[:200]}")
    return found


def via_client(client, case: Case) -> tuple[int, str, bytes]:
    method, path, headers, body = case.request()
    r = client.open(path, method=method, data=body, headers=headers)
    return r.status_code, r.content_type or "", r.get_data()


def test_every_case_through_the_test_client(client, corpus, good):
    control, control_digit = good
    failures = []
    for case in corpus:
        failures += problems(case, *via_client(client, case))
        status, _, body = via_client(client, control)
        if status != 200 or json.loads(body)["digit"] != control_digit:
            failures.append(f"{case.name}: the good request after it got {status} {body[:120]!r}")
    assert not failures, f"{len(failures)} of {len(corpus)} cases misbehave:\n" + "\n".join(failures)


def test_the_corpus_is_big_and_balanced(corpus):
    assert len(corpus) >= 40
    assert sum(c.ok for c in corpus) >= 10 and sum(not c.ok for c in corpus) >= 30
    assert {c.status for c in corpus} >= {200, 400, 405, 404, 413, 415, 422}


def test_uploads_are_never_written_under_their_own_names(client, corpus):
    """A file named ../../tmp/pwned.png is classified, never saved (there or anywhere relative to the cwd)."""
    case = next(c for c in corpus if c.name == "path_traversal_filename")
    targets = [Path("/tmp/pwned.png"), (Path.cwd() / "../../tmp/pwned.png").resolve(), REPO.parent / "tmp/pwned.png"]
    before = {t: t.exists() for t in targets}
    status, _, _ = via_client(client, case)
    assert status == 200
    assert {t: t.exists() for t in targets} == before


# --- the live server -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(trained_weights):
    port = free_port()
    proc = start_server(trained_weights, port)
    try:
        wait_ready(port, proc, timeout=90)
        yield port
    finally:
        stop(proc)


def via_http(port: int, case: Case) -> tuple[int, str, bytes]:
    """One request on a fresh connection; a connection the server drops counts as status 0."""
    method, path, headers, body = case.request()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        r = exchange(conn, method, path, headers, body)
        return r.status, r.getheader("Content-Type", ""), r.data
    except (OSError, http.client.HTTPException) as exc:
        return 0, "", json.dumps({"dropped": repr(exc)}).encode()
    finally:
        conn.close()


def exchange(conn: http.client.HTTPConnection, method: str, path: str, headers: dict, body: bytes):
    """Send and read the answer; an over-limit body may be refused (413, then close) before it is all sent."""
    try:
        conn.request(method, path, body=body, headers=headers)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the refusal is still readable from the socket
    response = conn.getresponse()
    response.data = response.read()
    return response


def test_every_case_through_the_live_server(server, corpus, good):
    control, control_digit = good
    failures = []
    for case in corpus:
        status, ctype, body = via_http(server, case)
        failures += (
            [f"{case.name}: connection dropped {body!r}"] if status == 0 else problems(case, status, ctype, body)
        )
        status, _, body = via_http(server, control)
        if status != 200 or json.loads(body)["digit"] != control_digit:
            failures.append(f"{case.name}: the good request after it got {status} {body[:120]!r}")
    assert not failures, f"{len(failures)} of {len(corpus)} cases misbehave:\n" + "\n".join(failures)


@pytest.mark.parametrize("kind", ["unread_1MB_text_plain_415", "over_limit_413"])
def test_a_kept_alive_connection_is_not_dropped_after_an_error_that_leaves_the_body_unread(server, corpus, good, kind):
    """An answer that announces keep-alive must leave the connection usable: a server that drains part of a body the
    app did not read and then closes silently (gunicorn 27 did, past 64 KiB) leaves a reusing client a dead one."""
    if kind == "over_limit_413":
        case = next(c for c in corpus if c.name == "body_over_size_limit")
    else:
        case = Case(kind, "raw", b"x" * 1_000_000, "text/plain", status=415, code="unsupported_media_type")
    control, digit = good
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=60)
    try:
        method, path, headers, body = case.request()
        try:
            conn.request(method, path, body=body, headers=headers)
        except (BrokenPipeError, ConnectionResetError):
            return  # the server closed while the body was still arriving: the client sees it, nothing is silent
        first = conn.getresponse()
        first.read()
        assert first.status == case.status
        if first.will_close:
            return
        method, path, headers, body = control.request()
        try:
            conn.request(method, path, body=body, headers=headers)
            again = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            pytest.fail(
                f"{first.status} said Connection: {first.getheader('Connection')}, then the next request on "
                f"the connection got {exc!r}"
            )
        assert again.status == 200 and json.loads(again.read())["digit"] == digit
    finally:
        conn.close()
