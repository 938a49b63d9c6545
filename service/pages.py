"""The web page: one HTML shell plus static JS modules and CSS, all served by this app (no CDN, no build step)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__, static_folder="static", static_url_path="/assets", template_folder="templates")


@bp.get("/")
def index():
    """Serve the drawing page."""
    return render_template("index.html")


@bp.get("/favicon.ico")
def favicon():
    """Serve the icon browsers ask for on their own, so the console stays clean."""
    return bp.send_static_file("favicon.svg")
