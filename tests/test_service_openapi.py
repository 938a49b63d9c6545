"""The OpenAPI document is valid and true: real responses, errors included, validate against it (openapi-core)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_spec_validator import validate
from service_kit import one_stroke, png
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request


@pytest.fixture
def spec(client):
    doc = client.get("/openapi.json").get_json()
    validate(doc)
    return OpenAPI.from_dict(doc)


def _check(spec, method: str, path: str, response):
    """Validate the response (status, content type, body) against the documented operation."""
    request = Request(EnvironBuilder(path=path, method=method.upper()).get_environ())  # only to find the operation
    spec.validate_response(WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response))


PIXELS = np.random.default_rng(0).integers(0, 256, size=784).tolist()

CALLS = [
    ("post", "/api/predict", dict(data=one_stroke(), content_type="image/png")),
    ("post", "/api/predict?activations=1&top=3&input=1", dict(data=one_stroke(), content_type="image/png")),
    ("post", "/api/predict?activations=true", dict(json={"pixels": [PIXELS, PIXELS]})),
    ("post", "/api/predict", dict(data={"image": [(io.BytesIO(one_stroke()), "a.png")] * 2})),
    ("post", "/api/predict", dict(data=b"", content_type="image/png")),
    ("post", "/api/predict", dict(data=b"not an image", content_type="image/png")),
    ("post", "/api/predict", dict(data=png(np.zeros((8, 8))), content_type="image/png")),
    ("post", "/api/predict", dict(json={"pixels": [300] * 784})),
    ("post", "/api/predict?top=x", dict(json={"pixels": PIXELS})),
    ("post", "/api/teach?target=3&lr=0.37&neuron=hidden1:2", dict(json={"pixels": PIXELS})),
    ("post", "/api/teach?target=0&lr=100", dict(json={"pixels": PIXELS})),
    ("get", "/api/model", {}),
    ("get", "/api/layers/hidden1/neurons/0", {}),
    ("get", "/api/layers/output/neurons/9", {}),
    ("get", "/api/layers/hidden1/neurons/0?format=png", {}),
    ("get", "/api/layers/hidden7/neurons/0", {}),
    ("get", "/api/layers/output/neurons/1?format=png", {}),
    ("get", "/healthz", {}),
    ("get", "/readyz", {}),
    ("get", "/metrics", {}),
    ("get", "/openapi.json", {}),
    ("get", "/v2", {}),
    ("get", "/v2/health/live", {}),
    ("get", "/v2/health/ready", {}),
    ("get", "/v2/models/mnist-mlp", {}),
    ("get", "/v2/models/mnist-mlp/versions/1", {}),
    ("get", "/v2/models/other", {}),
    ("get", "/v2/models/mnist-mlp/ready", {}),
    ("get", "/v2/models/mnist-mlp/versions/2/ready", {}),
    (
        "post",
        "/v2/models/mnist-mlp/infer",
        dict(json={"inputs": [{"name": "input", "shape": [1, 784], "datatype": "UINT8", "data": PIXELS}]}),
    ),
    (
        "post",
        "/v2/models/mnist-mlp/versions/1/infer",
        dict(
            json={
                "inputs": [{"name": "input", "shape": [1, 784], "datatype": "UINT8", "data": PIXELS}],
                "outputs": [{"name": "hidden1.a"}, {"name": "uncertain"}],
            }
        ),
    ),
    ("post", "/v2/models/mnist-mlp/infer", dict(json={"inputs": []})),
    ("post", "/v2/models/nope/infer", dict(json={"inputs": []})),
]


@pytest.mark.parametrize("method, path, kwargs", CALLS, ids=[f"{m} {p}" for m, p, _ in CALLS])
def test_responses_match_the_spec(spec, client, method, path, kwargs):
    response = getattr(client, method)(path, **kwargs)
    _check(spec, method, path, response)


def test_every_route_is_documented(app, spec, client):
    documented = set(client.get("/openapi.json").get_json()["paths"])
    routes = {rule.rule.replace("<", "{").replace(">", "}").replace("int:", "") for rule in app.url_map.iter_rules()}
    undocumented = {r for r in routes if not r.startswith(("/assets", "/static"))} - documented - {"/", "/favicon.ico"}
    assert not undocumented
