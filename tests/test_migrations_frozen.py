"""A migration does the same thing forever, whatever later code says: it imports no code of the
project's apps (models only through apps.get_model), only Django, the standard library,
third-party packages and helpers kept beside the migrations (detection/migrations/_*.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps
from django.conf import settings


def _project_apps() -> list[tuple[str, Path]]:
    base = Path(settings.BASE_DIR).resolve()
    return [
        (config.name, Path(config.path))
        for config in apps.get_app_configs()
        # the project's own packages sit at its top (a virtualenv inside it holds Django's)
        if Path(config.path).resolve().parent == base
    ]


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import of the file, inside functions too; a relative import
    outside the migrations package as '..'."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, ".." if node.level > 1 else node.module or "."))
    return found


def _app_code(module: str, packages: set[str]) -> bool:
    if module == "..":
        return True
    if module.startswith("."):
        return False  # beside the migration, in its own package
    parts = module.split(".")
    return parts[0] in packages and parts[1:2] != ["migrations"]


def test_no_migration_imports_the_app_s_code():
    project = _project_apps()
    packages = {name.split(".")[0] for name, _ in project}
    assert {"reports", "detection", "alerts", "outagewatch"} <= packages
    offending, files = [], 0
    for _, path in project:
        for file in sorted((path / "migrations").glob("*.py")):
            files += 1
            for line, module in _imported(ast.parse(file.read_text(encoding="utf-8"))):
                if _app_code(module, packages):
                    offending.append(f"{file.relative_to(settings.BASE_DIR)}:{line} {module}")
    assert files > 60
    assert not offending, "migrations importing the app's code:\n" + "\n".join(offending)
