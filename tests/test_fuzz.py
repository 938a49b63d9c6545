"""Property-based fuzzing of the whole HTTP API from its own /openapi.json (schemathesis, in-process WSGI).

Every operation gets FUZZ_EXAMPLES generated requests (valid and invalid by the schema); every response must be
free of 5xx and conform to the spec: a documented status code, the documented content type, a body matching the
documented schema. `FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py` for a long run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))  # per operation that takes input: 11 of them → 1,650
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
SPEC = Path(__file__).resolve().parent.parent / "service" / "openapi.yaml"


def operations() -> dict[str, bool]:
    """'METHOD /path' → whether it takes input (parameters or a body), for every operation in the spec file."""
    paths = yaml.safe_load(SPEC.read_text())["paths"]
    return {
        f"{method.upper()} {path}": bool(item.get("parameters") or op.get("parameters") or op.get("requestBody"))
        for path, item in paths.items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }


@pytest.fixture
def api_schema(tiny_weights):
    """The spec as the running app serves it at /openapi.json, bound to the app (calls go through WSGI)."""
    from service.app import create_app

    app = create_app({"WEIGHTS_PATH": str(tiny_weights), "TESTING": True})
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


@pytest.mark.parametrize("label, takes_input", operations().items())
def test_api_conforms_to_its_spec(api_schema, label, takes_input):
    """No 5xx, every answer as documented; an operation that takes input gets EXAMPLES different requests."""
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is in openapi.yaml but not in the served /openapi.json"
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    def fuzz(case):
        calls.append(case)
        case.call_and_validate(checks=CHECKS)

    calls = []
    fuzz()
    assert len(calls) >= (EXAMPLES if takes_input else 1)
