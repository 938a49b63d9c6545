"""`digits export`: the ONNX graph, run by onnxruntime, answers what the service answers; the Triton layout is valid.

The reference is the service itself (POST /api/predict?mode=raw through the app factory), and Triton's own
ModelConfig schema (tritonclient's model_config_pb2) for config.pbtxt. An export takes seconds, so one network is
exported once per module and its files are shared.
"""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
import torch
from service_kit import live_server, png

from model import MLP, MLPConfig, save_weights
from service import create_app
from service.cli import main

ort = pytest.importorskip("onnxruntime")
N_DIGITS = 64


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A small random 784 → 32 → 10 network's weights (module-scoped: each export takes seconds)."""
    torch.manual_seed(0)
    return save_weights(tmp_path_factory.mktemp("export") / "model.safetensors", MLP(MLPConfig(hidden=(32,))).eval())


@pytest.fixture(scope="module")
def exported(weights):
    """`digits export` run once with both destinations: the folder holding mlp.onnx and triton/mnist-mlp/."""
    folder = weights.parent
    argv = ["export", "--weights", str(weights), "--out", str(folder / "mlp.onnx"), "--triton", str(folder / "triton")]
    assert main(argv) == 0
    return folder


@pytest.fixture(scope="module")
def service(weights):
    """The service around the same weights."""
    return create_app({"WEIGHTS_PATH": str(weights), "TESTING": True}).test_client()


@pytest.fixture(scope="module")
def digits(mnist) -> np.ndarray:
    """The first 64 MNIST test digits, uint8 (64, 28, 28)."""
    return mnist.test_x[:N_DIGITS].numpy()


def run_onnx(path, x: np.ndarray) -> np.ndarray:
    """Probabilities (N, 10) from onnxruntime for inputs (N, 784)."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["probabilities"], {"input": x})[0]


def inputs(digits: np.ndarray) -> np.ndarray:
    return (digits.reshape(len(digits), -1) / 255).astype(np.float32)  # (N, 784) in [0, 1]


def service_probabilities(service, digits: np.ndarray, **request) -> np.ndarray:
    """The service's probabilities (N, 10) for a batch request in raw mode (no centring: the network's input)."""
    r = service.post("/api/predict?mode=raw", **request)
    assert r.status_code == 200, r.get_json()
    answers = r.get_json()
    assert len(answers) == len(digits)
    return np.array([answer["probabilities"] for answer in answers])


@pytest.mark.parametrize("n", [1, N_DIGITS])
def test_onnx_matches_the_service_on_json_pixels(exported, service, digits, n):
    expected = service_probabilities(service, digits[:n], json={"pixels": digits[:n].tolist()})
    got = run_onnx(exported / "mlp.onnx", inputs(digits[:n]))
    assert got.shape == (n, 10)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def test_onnx_matches_the_service_on_pngs(exported, service, digits):
    files = [(io.BytesIO(png(d)), f"{i}.png") for i, d in enumerate(digits)]
    expected = service_probabilities(service, digits, data={"image": files})
    got = run_onnx(exported / "mlp.onnx", inputs(digits))
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert got.sum(axis=1) == pytest.approx(1, abs=1e-5)


def test_the_graph_declares_a_dynamic_batch(exported, digits):
    session = ort.InferenceSession(str(exported / "mlp.onnx"), providers=["CPUExecutionProvider"])
    (given,), (answered,) = session.get_inputs(), session.get_outputs()
    assert (given.name, given.type, given.shape[1:]) == ("input", "tensor(float)", [784])
    assert (answered.name, answered.type, answered.shape[1:]) == ("probabilities", "tensor(float)", [10])
    assert isinstance(given.shape[0], str)  # a named, dynamic batch dimension
    x = inputs(np.resize(digits, (300, 28, 28)))  # beyond Triton's max_batch_size: the graph itself has no limit
    got = run_onnx(exported / "mlp.onnx", x)
    np.testing.assert_allclose(got[:N_DIGITS], run_onnx(exported / "mlp.onnx", x[:N_DIGITS]), atol=1e-6)


def test_triton_repository(exported):
    model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2")
    from google.protobuf import text_format

    repo = exported / "triton"
    assert sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file()) == [
        "mnist-mlp/1/model.onnx",
        "mnist-mlp/config.pbtxt",
    ]
    assert (repo / "mnist-mlp/1/model.onnx").read_bytes() == (exported / "mlp.onnx").read_bytes()
    config = text_format.Parse((repo / "mnist-mlp/config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    assert (config.name, config.platform, config.max_batch_size) == ("mnist-mlp", "onnxruntime_onnx", 256)
    fp32 = model_config_pb2.TYPE_FP32
    assert [(t.name, t.data_type, list(t.dims)) for t in config.input] == [("input", fp32, [784])]
    assert [(t.name, t.data_type, list(t.dims)) for t in config.output] == [("probabilities", fp32, [10])]
    assert config.HasField("dynamic_batching")


def test_the_documented_client_call_answers_the_same_from_the_service(exported, weights, digits):
    """docs/distributed.md's tritonclient call, sent to the service's own /v2 (the protocol Triton speaks)."""
    httpclient = pytest.importorskip("tritonclient.http")
    pixels = inputs(digits)
    with live_server(create_app({"WEIGHTS_PATH": str(weights), "TESTING": True})) as address:
        client = httpclient.InferenceServerClient(address)
        tensor = httpclient.InferInput("input", list(pixels.shape), "FP32")
        tensor.set_data_from_numpy(pixels, binary_data=True)
        answer = client.infer("mnist-mlp", [tensor], outputs=[httpclient.InferRequestedOutput("probabilities")])
    got = answer.as_numpy("probabilities")
    np.testing.assert_allclose(got, run_onnx(exported / "mlp.onnx", pixels), atol=1e-5, rtol=0)


def test_maxout_and_batch_norm_export(tmp_path, digits):
    torch.manual_seed(1)
    model = MLP(MLPConfig(hidden=(24, 12), activation="maxout", batch_norm=True)).eval()
    for norm in model.norms:  # statistics as training would leave them, so the exported normalisation shows
        norm.running_mean.normal_(0, 0.5)
        norm.running_var.uniform_(0.5, 2)
        norm.weight.data.uniform_(0.5, 2)
    weights = save_weights(tmp_path / "maxout.safetensors", model)
    assert main(["export", "--weights", str(weights), "--out", str(tmp_path / "maxout.onnx")]) == 0
    x = inputs(digits)
    expected = torch.softmax(model(torch.from_numpy(x)), dim=1).detach().numpy()
    np.testing.assert_allclose(run_onnx(tmp_path / "maxout.onnx", x), expected, atol=1e-6, rtol=0)


def one_error_line(capsys) -> str:
    """The one line a failed command printed on stderr (no traceback), having printed nothing on stdout."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("digits: error: ") and captured.out == "", captured
    return lines[0]


def corrupt(path):
    path.write_bytes(path.read_bytes()[:-100])
    return path


@pytest.mark.parametrize("make_weights", [lambda w: w.parent / "missing.safetensors", corrupt])
def test_unusable_weights_are_one_line(tiny_weights, make_weights, tmp_path, capsys):
    bad = make_weights(tiny_weights)
    assert main(["export", "--weights", str(bad), "--out", str(tmp_path / "out.onnx")]) == 2
    assert str(bad) in one_error_line(capsys)
    assert not (tmp_path / "out.onnx").exists()


@pytest.mark.parametrize("destination", ["--out", "--triton"])
def test_unwritable_destination_is_one_line(tiny_weights, destination, capsys):
    under_a_file = tiny_weights / "export"  # a folder path whose parent is a file
    assert main(["export", "--weights", str(tiny_weights), destination, str(under_a_file)]) == 2
    assert str(tiny_weights) in one_error_line(capsys)


def test_without_onnx_it_says_what_to_install(tiny_weights, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # as if not installed: importing it raises ImportError
    assert main(["export", "--weights", str(tiny_weights), "--out", str(tmp_path / "out.onnx")]) == 2
    assert "pip install 'digits-mlp[export]'" in one_error_line(capsys)


def test_a_destination_is_required(tiny_weights, capsys):
    assert main(["export", "--weights", str(tiny_weights)]) == 2
    assert "--out" in one_error_line(capsys)


def test_the_service_imports_nothing_of_onnx(tiny_weights):
    code = (
        "import sys; import service.cli; from service import create_app; "
        "create_app({'WEIGHTS_PATH': sys.argv[1]}); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('onnx', 'onnxscript', 'onnxruntime') "
        "or m.startswith('torch.onnx')))"
    )
    run = subprocess.run([sys.executable, "-c", code, str(tiny_weights)], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"
