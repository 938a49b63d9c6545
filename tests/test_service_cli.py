"""`digits predict`: same preprocessing and answers as the API, no server; bad files are one line on stderr."""

from __future__ import annotations

import json

from service_kit import one_stroke

from service.cli import main


def test_json_output_matches_the_api(tmp_path, tiny_weights, client, capsys):
    image = tmp_path / "one.png"
    image.write_bytes(one_stroke())
    assert main(["predict", str(image), "--json", "--activations", "--weights", str(tiny_weights)]) == 0
    answer = json.loads(capsys.readouterr().out)
    api = client.post("/api/predict?activations=1", data=one_stroke(), content_type="image/png").get_json()
    assert answer == {"file": str(image), **api}


def test_text_output(tmp_path, tiny_weights, capsys):
    image = tmp_path / "one.png"
    image.write_bytes(one_stroke())
    assert main(["predict", str(image), "--weights", str(tiny_weights), "--mode", "raw", "--activations"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{image}: ") and "%" in out and "hidden1" in out


def test_bad_files_are_one_line_each_and_exit_non_zero(tmp_path, tiny_weights, capsys):
    good, text, blank = tmp_path / "good.png", tmp_path / "notes.png", tmp_path / "missing.png"
    good.write_bytes(one_stroke())
    text.write_text("not an image")
    assert main(["predict", str(good), str(text), str(blank), "--weights", str(tiny_weights)]) == 1
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 1 and str(good) in captured.out
    errors = captured.err.strip().splitlines()
    assert len(errors) == 2 and str(text) in errors[0] and str(blank) in errors[1]


def test_bad_weights_are_one_line(tmp_path, capsys):
    image = tmp_path / "one.png"
    image.write_bytes(one_stroke())
    assert main(["predict", str(image), "--weights", str(tmp_path / "nope.safetensors")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.safetensors" in err[0]
