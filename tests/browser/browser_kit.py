"""What the browser tests and the screenshot script share: serve the app on loopback, launch Chromium, draw."""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from tests.service_kit import live_server

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package: `apt-get install -y chromium chromium-driver`
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@contextmanager
def serve(app):
    """Serve a Flask app on 127.0.0.1 and a free port in a thread; yield its base URL."""
    with live_server(app) as address:
        yield f"http://{address}"


def launch(playwright):
    """Start headless Debian Chromium (never a browser Playwright downloads)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@dataclass
class Watch:
    """Everything on a page that should never happen: console errors, page errors, failed or foreign requests.

    An API answer of 4xx is the service speaking, not a fault of the page: Chromium still logs it to the
    console ("Failed to load resource"), so it is kept apart in api_errors, for tests to expect or refuse. One is
    no refusal at all: a model without a training timeline answers GET …/history with 404, which is how the page
    learns to hide its timeline; those are counted in no_history.
    """

    problems: list[str] = field(default_factory=list)
    api_errors: list[int] = field(default_factory=list)
    no_history: int = 0
    hosts: set[str] = field(default_factory=set)

    def attach(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        page.on("requestfailed", self._failed)
        page.on("request", lambda r: self.hosts.add(urlparse(r.url).hostname or r.url.split(":", 1)[0]))
        page.on("response", self._response)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        if message.text.startswith("Failed to load resource") and _api(message.location.get("url", "")):
            return  # counted in api_errors by _response
        self.problems.append(f"console: {message.text}")

    def _response(self, response) -> None:
        if response.status < 400:
            return
        if response.status == 404 and _api(response.url) and urlparse(response.url).path.endswith("/history"):
            self.no_history += 1
        elif _api(response.url):
            self.api_errors.append(response.status)
        else:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def _failed(self, request) -> None:
        if request.failure == "net::ERR_ABORTED" and _api(request.url):
            return  # the page aborts a stale prediction on purpose when a newer drawing supersedes it
        self.problems.append(f"request failed: {request.url} ({request.failure})")

    def assert_clean(self) -> None:
        """No problems at all, and no API refusals either."""
        assert self.problems == []
        assert self.api_errors == []

    def foreign_hosts(self) -> set[str]:
        return {h for h in self.hosts if h not in LOCAL_HOSTS and h != "data"}


def _api(url: str) -> bool:
    return urlparse(url).path.startswith("/api/")


def pad_box(page) -> tuple[float, float, float]:
    """Centre x, centre y and side of the drawing pad in page pixels."""
    box = page.locator("[data-testid=pad]").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"]


def stroke(page, points, steps: int = 8) -> None:
    """Press, move through every point (with intermediate pointer moves), release."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*p, steps=steps)
    page.mouse.up()


def draw_one(page) -> None:
    """A slightly slanted vertical bar, like a handwritten 1."""
    cx, cy, side = pad_box(page)
    stroke(page, [(cx + 0.04 * side, cy - 0.32 * side), (cx - 0.04 * side, cy + 0.32 * side)], steps=30)


def draw_zero(page) -> None:
    """An upright ellipse, like a handwritten 0."""
    cx, cy, side = pad_box(page)
    pts = [
        (cx + 0.2 * side * math.sin(t * math.pi / 24), cy - 0.3 * side * math.cos(t * math.pi / 24)) for t in range(49)
    ]
    stroke(page, pts, steps=2)


def draw_seven(page) -> None:
    """A top bar and a long diagonal, like a handwritten 7."""
    cx, cy, side = pad_box(page)
    stroke(
        page,
        [
            (cx - 0.2 * side, cy - 0.28 * side),
            (cx + 0.2 * side, cy - 0.28 * side),
            (cx - 0.04 * side, cy + 0.32 * side),
        ],
        steps=20,
    )


def prediction(page, timeout: float = 10_000) -> str:
    """Wait for the page to show a digit and return the element's text."""
    page.wait_for_function(
        """() => document.body.dataset.state === 'idle'
                 && /^\\d/.test(document.querySelector('[data-testid=prediction]').textContent)""",
        timeout=timeout,
    )
    return page.locator("[data-testid=prediction]").text_content()


def open_page(browser, url: str, watch, *ready: str):
    """A fresh page on URL, watched for console errors, failed requests and foreign hosts, once READY selectors
    are there; closed after the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    watch.attach(page)
    page.goto(url + "/")
    for selector in ready:
        page.wait_for_selector(selector)
    yield page
    context.close()
