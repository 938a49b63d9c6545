"""benchmarks/sweep.py: variants parsed as the training CLI takes them, and the summary's means and ranges."""

import argparse

import pytest

from benchmarks.sweep import read_sets, summary, variant


def test_variant_is_a_name_and_training_flags():
    assert variant("512,256=--hidden 512,256 --dropout 0.1") == ("512,256", ["--hidden", "512,256", "--dropout", "0.1"])
    assert variant("default=") == ("default", [])


@pytest.mark.parametrize("text", ["--hidden 512", "=--hidden 512", ""])
def test_a_variant_without_a_name_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match="NAME=FLAGS"):
        variant(text)


def test_summary_gives_each_figure_mean_and_range_over_seeds():
    runs = {
        "a": [{"photos": 97.0, "MNIST flagged": 2.5}, {"photos": 98.5, "MNIST flagged": 2.0}],
        "b": [{"photos": 96.25, "MNIST flagged": 3.0}],
    }
    rows = summary(runs).splitlines()
    assert rows[0] == "| variant | seeds | photos | MNIST flagged |"
    assert rows[2] == "| a | 2 | 97.75 (97.00–98.50) | 2.25 (2.00–2.50) |"  # (97 + 98.5) / 2, (2.5 + 2) / 2
    assert rows[3] == "| b | 1 | 96.25 | 3.00 |"


def test_sets_are_read_back_as_uploads_tuples(tmp_path):
    (tmp_path / "0").write_bytes(b"\x89PNG one")
    (tmp_path / "1").write_bytes(b"\xff\xd8 two")
    (tmp_path / "index.json").write_text('[[7, "photo_plain", "captures"], [3, "printed", "clean"]]')
    assert read_sets(tmp_path) == [
        (b"\x89PNG one", 7, "photo_plain", "captures"),
        (b"\xff\xd8 two", 3, "printed", "clean"),
    ]
