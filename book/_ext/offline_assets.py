"""Sphinx extension: serve MathJax and the ipywidgets manager from the site itself.

``make book`` installs pinned npm packages and copies what the pages need into
``book/_offline`` (see ``book/assets``). When that folder is complete, every page loads
MathJax, require.js and the widget manager from ``_static/`` and the site renders math and
widgets with no network. When it is missing (no ``npm`` on the build machine), the build
keeps Sphinx's and myst-nb's CDN defaults and says so in one line.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

logger = logging.getLogger(__name__)

OFFLINE = Path(__file__).resolve().parents[1] / "_offline"
REQUIRED = ("mathjax/tex-mml-chtml.js", "requirejs/require.js", "html-manager/embed-amd.js")


def offline_assets_ready() -> bool:
    return all((OFFLINE / name).is_file() for name in REQUIRED)


def _use_local_assets(app: Sphinx, config: Config) -> None:
    if not offline_assets_ready():
        logger.info(
            "offline_assets: book/_offline is missing (no npm?); math and widgets load from "
            "public CDNs, so the site needs the network to render them."
        )
        return
    config.html_static_path = [*config.html_static_path, str(OFFLINE)]
    config.mathjax_path = "mathjax/tex-mml-chtml.js"
    # Order matters: require.js must define `define` before the AMD widget manager loads.
    # No CDN attribute: every widget the book uses is bundled in embed-amd.js.
    config.nb_ipywidgets_js = {
        "requirejs/require.js": {},
        "html-manager/embed-amd.js": {},
    }
    logger.info("offline_assets: MathJax and the widget manager are served from the site")


def setup(app: Sphinx) -> dict:
    # Priority > 500 so this runs after myst-nb has registered its defaults.
    app.connect("config-inited", _use_local_assets, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
