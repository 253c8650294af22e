"""Structure figures of the package: modules and sizes, largest functions, type ignores,
import cycles and lines per registered architecture.

    python scripts/code_stats.py [PACKAGE_DIR]      (default: shapeprof/ beside this script)
"""

from __future__ import annotations

import argparse
import ast
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under ``package``."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def function_sizes(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.end_lineno - node.lineno + 1, node.name) for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of the package that ``name`` imports at run time (at any depth in the file)."""
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if _is_type_checking(block)
                   for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            prefix = base[:len(base) - node.level + 1] if node.level else []
            target = ".".join(prefix + (node.module.split(".") if node.module else []))
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.add(full if full in known else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in known and m != name}


def _is_type_checking(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` blocks import for annotations only, never at run time."""
    return isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def without_ancestors(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Drop edges to one's own ancestor package: a package and the submodules it
    re-exports are one unit."""
    return {n: {m for m in deps if not n.startswith(m + ".")} for n, deps in graph.items()}


def registered_architectures() -> int:
    sys.path.insert(0, str(ROOT))
    from shapeprof.onnx.builtin import default_registry

    return len(default_registry())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", nargs="?", type=Path, default=ROOT / "shapeprof")
    parser.add_argument("--architectures", type=int, help="registered count (default: import it)")
    args = parser.parse_args()
    mods = modules(args.package)
    lines = {n: len(p.read_text(encoding="utf-8").splitlines()) for n, p in mods.items()}
    top = [n for n in mods if n.count(".") == 1 and not mods[n].name == "__init__.py"]
    funcs = sorted(((size, f"{n}.{f}") for n, p in mods.items() for size, f in function_sizes(p)),
                   reverse=True)
    ignores = sum(len(re.findall(r"#\s*type:\s*ignore", p.read_text(encoding="utf-8")))
                  for p in mods.values())
    graph = {n: imports(n, p, set(mods)) for n, p in mods.items()}
    cyc = cycles(without_ancestors(graph))
    models_dir = args.package / "onnx" / "models"
    model_lines = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in models_dir.glob("*.py"))
    archs = args.architectures or registered_architectures()
    print(f"modules: {len(mods)} ({len(top)} loose top-level), lines: {sum(lines.values())}")
    print(f"module size: median {statistics.median(lines.values()):.0f}, max {max(lines.values())} "
          f"({max(lines, key=lines.get)})")
    print(f"functions: {len(funcs)}, median {statistics.median(s for s, _ in funcs):.0f} lines; largest:")
    for size, name in funcs[:5]:
        print(f"  {size:4d}  {name}")
    print(f"'# type: ignore': {ignores}")
    print(f"import cycles across units: {len(cyc)}" + "".join(f"\n  {' <-> '.join(c)}" for c in cyc))
    print(f"onnx/models: {model_lines} lines for {archs} architectures = {model_lines / archs:.1f} per architecture")


if __name__ == "__main__":
    main()
