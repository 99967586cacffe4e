"""CONTRIBUTING.md stays accurate: its module map names every module of vae_lib, and only those."""

from __future__ import annotations

import re
from pathlib import Path

import vae_lib

REPO = Path(__file__).resolve().parents[1]
GUIDE = (REPO / "CONTRIBUTING.md").read_text()
PACKAGE = Path(vae_lib.__file__).parent


def _public_modules() -> set[str]:
    names = {path.stem for path in PACKAGE.glob("*.py") if not path.stem.startswith("_")}
    names |= {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    return names | {"__main__"}


def _private_modules() -> set[str]:
    return {path.stem for path in PACKAGE.glob("_*.py")} - {"__init__", "__main__"}


def _table_modules() -> set[str]:
    return set(re.findall(r"^\| `([\w]+)` \|", GUIDE, flags=re.M))


def test_the_module_map_names_every_public_module_and_no_other():
    assert _table_modules() == _public_modules(), (
        f"missing from CONTRIBUTING.md: {sorted(_public_modules() - _table_modules())}; "
        f"named but not in vae_lib: {sorted(_table_modules() - _public_modules())}"
    )


def test_every_private_module_is_mentioned():
    missing = [name for name in _private_modules() if f"`{name}`" not in GUIDE]
    assert not missing, f"CONTRIBUTING.md does not mention the private modules {missing}"


def test_the_package_docstring_lists_every_public_module():
    listed = set(re.findall(r":mod:`vae_lib\.(\w+)`", vae_lib.__doc__))
    assert listed == _public_modules() - {"__main__"}, sorted(listed ^ (_public_modules() - {"__main__"}))


def test_readme_links_the_guide():
    assert "CONTRIBUTING.md" in (REPO / "README.md").read_text()
