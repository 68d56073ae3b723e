"""bot/core stays pure: it never imports discord, so it runs (and is tested) without it."""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "bot" / "core"


def test_core_never_imports_discord():
    for path in CORE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(name.split(".")[0] == "discord" for name in names), f"{path.name} imports {names}"
