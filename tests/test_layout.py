"""The statistical core stays free of the HTTP layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "designs"
FORBIDDEN = {"fastapi", "starlette", "httpx", "uvicorn", "pydantic_settings", "service"}


@pytest.mark.parametrize("module", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_imports_no_http(module):
    tree = ast.parse(module.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN, f"{module.relative_to(CORE)} imports {sorted(imported & FORBIDDEN)}"


CAPABILITIES = {"core", "simon", "response", "survival", "engines", "oc", "registry", "endpoints", "adam", "boundaries", "reports", "safety", "pfsdesign", "qualification"}


def test_core_is_a_package_per_capability():
    """designs/ holds one subpackage per capability and no loose modules but the package marker."""
    loose = {p.name for p in CORE.glob("*.py")} - {"__init__.py"}
    packages = {p.name for p in CORE.iterdir() if (p / "__init__.py").exists()}
    assert not loose, f"modules outside a capability: {sorted(loose)}"
    assert packages == CAPABILITIES
