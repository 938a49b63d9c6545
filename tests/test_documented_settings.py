"""The defaults the docs state are the ones service/settings.py holds: README and docs/serving.md tables, and the
thresholds quoted in service/openapi.yaml (which had been written twice by hand)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.settings import SERVER_SETTINGS, SETTINGS

REPO = Path(__file__).resolve().parent.parent
BY_ENV = {s.env: s for s in (*SETTINGS, *SERVER_SETTINGS)}
TABLE_ROW = re.compile(r"^\| `(\w+)` \| `([^`]*)` \|", re.MULTILINE)  # | `VARIABLE` | `default` | meaning |
QUOTED = re.compile(r"`(DIGITS_\w+)` \(([\d.]+)\)")  # `DIGITS_UNCERTAIN_BELOW` (0.55)


@pytest.mark.parametrize("doc", ["README.md", "docs/serving.md"])
def test_settings_tables_show_the_defaults(doc):
    rows = TABLE_ROW.findall((REPO / doc).read_text())
    checked = [(env, shown) for env, shown in rows if env in BY_ENV]
    assert len(checked) >= 10, f"{doc}: the settings table was not found"
    for env, shown in checked:
        setting = BY_ENV[env]
        assert setting.parse(shown) == setting.default, f"{doc} says {env} defaults to {shown}, not {setting.default}"


def test_openapi_quotes_the_default_thresholds():
    quoted = QUOTED.findall((REPO / "service/openapi.yaml").read_text())
    assert {env for env, _ in quoted} >= {"DIGITS_UNCERTAIN_BELOW", "DIGITS_UNCERTAIN_ENTROPY_ABOVE"}
    for env, shown in quoted:
        assert float(shown) == BY_ENV[env].default, f"openapi.yaml says {env} is {shown}, not {BY_ENV[env].default}"
