"""The layout holds its promises: bot/core is pure (never imports discord), imports point down, and there is no
import circle between modules of the bot (imports made only for type checkers do not count)."""

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
CORE = BOT / "core"
# Who may import whom: a package may use the ones below it, never the ones above.
LAYERS = {"bot.core": 0, "bot.store": 1, "bot.discord": 2, "bot.cli": 3}


def _module_name(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path) -> set[str]:
    """Modules `path` imports when it runs: `if TYPE_CHECKING:` blocks are skipped."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
               for node in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in BOT.rglob("*.py")}
    return {name: {target for target in _runtime_imports(path) if target in modules} for name, path in modules.items()}


def _layer(module: str) -> int | None:
    return next((rank for prefix, rank in LAYERS.items() if module == prefix or module.startswith(prefix + ".")),
                None)


def test_core_never_imports_discord():
    for path in CORE.glob("*.py"):
        names = _runtime_imports(path)
        assert not any(name.split(".")[0] == "discord" for name in names), f"{path.name} imports {names}"


def test_imports_point_down():
    for module, targets in _graph().items():
        for target in targets:
            if _layer(module) is not None and _layer(target) is not None:
                assert _layer(target) <= _layer(module), f"{module} imports {target}, a layer above it"


def test_no_import_circles():
    graph = _graph()

    def visit(module: str, path: list[str]) -> None:
        for target in graph[module]:
            assert target not in path, "import circle: " + " → ".join([*path[path.index(target):], target])
            visit(target, [*path, target])

    for module in graph:
        visit(module, [module])
