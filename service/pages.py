"""The web page: one HTML shell plus static JS modules and CSS, all served by this app (no CDN, no build step)."""

from __future__ import annotations

from flask import Blueprint, render_template

from service.decode import ACCEPT, NAMES

bp = Blueprint("pages", __name__, static_folder="static", static_url_path="/assets", template_folder="templates")


@bp.get("/")
def index():
    """Serve the drawing page: its file picker and its 415 message name the formats decode.py reads."""
    return render_template("index.html", accept=ACCEPT, formats=NAMES)


@bp.get("/favicon.ico")
def favicon():
    """Serve the icon browsers ask for on their own, so the console stays clean."""
    return bp.send_static_file("favicon.svg")
