"""The layers of pyproject.toml (import-linter, `make lint`) cover every module, and every hook
a lower layer calls is registered by the app above it."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from console import hooks

ROOT = Path(__file__).resolve().parents[2]
APPS = ("console", "campaigns", "rewards", "billing")


def _layers() -> list[list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return [
        [name.strip() for part in layer.split("|") for name in part.split(":")]
        for layer in contract["layers"]
    ]


def _modules() -> set[str]:
    found = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.add(".".join(parts))
    return found


def _inside(module: str, entry: str) -> bool:
    return module == entry or module.startswith(entry + ".")


def test_every_module_of_the_four_apps_is_on_exactly_one_layer():
    entries = [entry for layer in _layers() for entry in layer]
    # A package whose modules are spread over several layers holds no code of its own.
    containers = {e.rsplit(".", n)[0] for e in entries for n in range(1, e.count(".") + 1)}
    unplaced, twice = [], []
    for module in sorted(_modules()):
        homes = [entry for entry in entries if _inside(module, entry)]
        if not homes and module not in containers:
            unplaced.append(module)
        elif len(homes) > 1:
            twice.append(module)
    assert unplaced == [], "Add these modules to a layer in pyproject.toml"
    assert twice == []


@pytest.mark.parametrize("module", ["console", "rewards", "campaigns", "rewards.management"])
def test_a_package_spread_over_layers_holds_no_code_of_its_own(module):
    path = ROOT / module.replace(".", "/") / "__init__.py"
    body = ast.parse(path.read_text()).body
    code = [n for n in body if not isinstance(n, ast.Expr)]  # docstrings are fine
    if module == "console":  # the project package: Celery's app, loaded with Django
        assert [ast.unparse(n) for n in code] == [
            "from .celery import app as celery_app",
            "__all__ = ('celery_app',)",
        ]
    else:
        assert code == []


def test_every_hook_that_a_lower_layer_calls_is_registered():
    names = {
        value for name, value in vars(hooks).items() if name.isupper() and isinstance(value, str)
    }
    assert names == set(hooks._hooks)
