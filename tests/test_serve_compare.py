"""benchmarks/serve_compare.py: the ratio to the minimal app, taken round by round, and where it is not given."""

from benchmarks.serve_compare import BASELINE, against_baseline, report


def _runs(request: str, *rps: float) -> list[dict]:
    return [
        {"rps": r, "images": 1, "request": request, "p50_ms": 1.0, "p99_ms": 2.0, "errors": 0, "socket_errors": 0}
        for r in rps
    ]


def test_the_ratio_is_the_median_of_each_rounds_ratio():
    service, minimal = _runs("png", 3000, 3300, 3600), _runs("png", 2000, 2000, 2400)
    # rounds: 3000/2000 = 1.50, 3300/2000 = 1.65, 3600/2400 = 1.50; the ratio of the medians would be 1.65
    assert against_baseline(service, minimal) == "1.50× (1.50, 1.65, 1.50)"


def test_no_ratio_for_batches_other_protocols_the_baseline_itself_or_without_it():
    minimal = _runs("png", 2000)
    assert against_baseline(_runs("png_64", 300), minimal) == "–"
    assert against_baseline(_runs("v2", 1500), minimal) == "–"
    assert against_baseline(minimal, minimal) == "–"
    assert against_baseline(_runs("png", 3000), None) == "–"


def test_the_report_puts_the_ratio_in_its_own_column():
    class Args:
        connections, seconds, rounds = 16, 8, 2

    rows = {"the service": _runs("png", 3100, 2900), BASELINE: _runs("png", 2000, 2000)}
    lines = report(rows, Args, ["--rounds", "2"]).splitlines()
    header = [cell.strip() for cell in lines[5].strip("|").split("|")]
    service = [cell.strip() for cell in lines[7].strip("|").split("|")]
    assert service[header.index("× the minimal app")] == "1.50× (1.55, 1.45)"
    assert service[header.index("requests/s")] == "3,000 (3,100, 2,900)"
