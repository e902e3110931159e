"""The package's layers (docs/architecture.md): imports only point down, modules stay short.

Layers, bottom to top; a module may import its own package and any lower layer, never a layer
at its own rank or above (``data`` and ``simulate`` are siblings: neither imports the other):

0. core: ``errors``, ``log``, ``io``, ``defaults``, ``coords``, ``publish`` (and ``tfvocab`` itself)
1. ``formats``
2. ``data``, ``simulate``
3. ``model``
4. ``evaluation``, ``report``
5. entry points: ``commands``, ``cli``, ``demo``, ``__main__``
"""
from __future__ import annotations

import ast
from pathlib import Path

import tfvocab

ROOT = Path(tfvocab.__file__).parent
CORE = {"", "errors", "log", "io", "defaults", "coords", "publish"}
RANK = {"core": 0, "formats": 1, "data": 2, "simulate": 2, "model": 3, "evaluation": 4, "report": 4,
        "entry": 5}
ENTRY = {"commands", "cli", "demo", "__main__"}
#: steps: read -> pure functions -> write; a step never imports another step
STEPS = {"data.promoters", "data.extract", "data.merge", "data.normalize", "data.tokens",
         "data.pairs", "model.train", "model.tune", "evaluation.evaluate", "evaluation.summarize",
         "evaluation.predict", "evaluation.interpret", "simulate.dataset", "report.page"}
LINE_CAP = 600
#: modules over the cap, each one idea (split them by responsibility when they grow further)
ALLOW_LONG = {
    "data.coexpression": "the layouts co-expression databases ship (per-gene partner lists, square "
                         "matrices), with the ID map, score checks and top-N selection they share",
}


def modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path) -> set[str]:
    """Modules under tfvocab that ``name`` imports (dotted, relative to tfvocab)."""
    pkg = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[:len(pkg) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("tfvocab"):
                target = node.module[len("tfvocab."):] if node.module != "tfvocab" else ""
            else:
                continue
            for a in node.names:
                sub = f"{target}.{a.name}".lstrip(".")
                found.add(sub if sub in MODULES else target)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("tfvocab."):
                    found.add(a.name[len("tfvocab."):])
    return found


MODULES = modules()


def layer(name: str) -> str:
    top = name.split(".")[0]
    return "core" if top in CORE else "entry" if top in ENTRY else top


def test_every_module_has_a_layer():
    assert sorted({layer(m) for m in MODULES} - set(RANK)) == []


def test_imports_point_down_the_layers():
    bad = []
    for name, path in MODULES.items():
        for dep in imports(name, path):
            if layer(dep) == layer(name):
                continue
            if RANK[layer(dep)] >= RANK[layer(name)]:
                bad.append(f"{name} -> {dep}")
    assert bad == []


def test_no_step_imports_another_step():
    bad = [f"{name} -> {dep}" for name in STEPS for dep in imports(name, MODULES[name])
           if dep in STEPS and dep != name]
    assert bad == []


def test_no_import_cycle():
    graph = {n: {d for d in imports(n, p) if d in MODULES and d != n and d != ""}
             for n, p in MODULES.items()}
    state: dict[str, int] = {}

    def visit(n, stack):
        state[n] = 1
        for d in graph[n]:
            if state.get(d) == 1:
                raise AssertionError(" -> ".join(stack + [n, d]))
            if d not in state:
                visit(d, stack + [n])
        state[n] = 2

    for n in graph:
        if n not in state:
            visit(n, [])


def test_modules_stay_short():
    long = {n: len(p.read_text().splitlines()) for n, p in MODULES.items()}
    over = {n: k for n, k in long.items() if k > LINE_CAP and n not in ALLOW_LONG}
    assert over == {}
    stale = [n for n in ALLOW_LONG if long.get(n, 0) <= LINE_CAP]
    assert stale == [], "drop these from ALLOW_LONG"
