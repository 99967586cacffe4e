"""Copy the JavaScript the site serves itself from node_modules into book/_offline.

Run by ``make book`` after ``npm ci`` in this folder. The Sphinx extension
``book/_ext/offline_assets.py`` points MathJax and the ipywidgets manager at the copies;
when they are missing it falls back to the public CDNs.

Only what the pages load is copied (MathJax's ``tex-mml-chtml`` component and the folders it
loads lazily; the self-contained widget manager and its icon fonts; require.js), so the site
stays a few tens of MB rather than the 150 MB of node_modules.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES = HERE / "node_modules"
TARGET = HERE.parent / "_offline"

# (source inside node_modules, destination inside _offline)
COPIES = [
    ("requirejs/require.js", "requirejs/require.js"),
    ("@jupyter-widgets/html-manager/dist/embed-amd.js", "html-manager/embed-amd.js"),
    ("mathjax/es5/tex-mml-chtml.js", "mathjax/tex-mml-chtml.js"),
    *[(f"mathjax/es5/{folder}", f"mathjax/{folder}") for folder in ("input", "output", "ui", "a11y", "adaptors")],
]
FONT_SUFFIXES = {".woff", ".woff2", ".ttf", ".eot", ".svg"}


def main() -> int:
    if not MODULES.is_dir():
        print(f"copy_assets: {MODULES} is missing; run `npm ci` in {HERE} first", file=sys.stderr)
        return 1
    staging = TARGET.with_name(TARGET.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    for source, destination in COPIES:
        src, dst = MODULES / source, staging / destination
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    # The widget manager's icon fonts (Font Awesome), next to embed-amd.js.
    for font in (MODULES / "@jupyter-widgets/html-manager/dist").iterdir():
        if font.suffix in FONT_SUFFIXES:
            shutil.copy2(font, staging / "html-manager" / font.name)
    # Swap in the complete folder at once, so a half-copied folder is never used.
    shutil.rmtree(TARGET, ignore_errors=True)
    staging.rename(TARGET)
    size = sum(f.stat().st_size for f in TARGET.rglob("*") if f.is_file())
    print(f"Offline assets ready in {TARGET.relative_to(HERE.parent.parent)} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
