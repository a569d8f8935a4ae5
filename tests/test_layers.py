"""Dependencies point inward: the core imports nothing of the adapters or the flows."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_packages(path: Path) -> set[str]:
    """Top-level packages a module imports, wherever in the module the import is."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def offenders(package: str, forbidden: set[str]) -> dict[str, set[str]]:
    return {str(path.relative_to(ROOT)): bad
            for path in sorted((ROOT / package).rglob("*.py"))
            if (bad := imported_packages(path) & forbidden)}


def test_detectors_import_nothing_from_connectors_or_flows() -> None:
    assert offenders("detectors", {"connectors", "flows", "bytewax", "confluent_kafka",
                                   "apprise", "click"}) == {}


def test_connectors_import_nothing_from_flows() -> None:
    assert offenders("connectors", {"flows"}) == {}


def test_config_imports_none_of_the_layers() -> None:
    assert offenders("config", {"detectors", "connectors", "flows"}) == {}


def test_the_check_finds_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from flows.run import run_folder\n    import connectors\n")
    assert imported_packages(module) == {"flows", "connectors"}
