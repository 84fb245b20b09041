"""The package's shape: layering, no import cycles, no machine paths, and the public API imports."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("qcbo_model", "solvers", "validation", "qcbo_qnn")
# who may import whom: a package never imports one to its right
LAYER = {"qcbo_model": 0, "solvers": 1, "validation": 2, "qcbo_qnn": 3}


def _modules():
    for pkg in PACKAGES:
        for p in sorted((ROOT / pkg).rglob("*.py")):
            rel = p.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join(parts), p


def _imports(name, path, top_level_only):
    """Absolute module names imported by a module (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                mod = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else []))
            else:
                mod = node.module
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}      # `from pkg import submodule`
    return out


MODULES = dict(_modules())


def test_lower_layers_never_import_upper_ones():
    bad = []
    for name, path in MODULES.items():
        mine = LAYER[name.split(".")[0]]
        for imp in _imports(name, path, top_level_only=False):
            top = imp.split(".")[0]
            if top in LAYER and LAYER[top] > mine:
                bad.append(f"{name} imports {imp}")
    assert not bad, "\n".join(bad)


def test_library_never_imports_the_cli():
    bad = [f"{n} imports {i}" for n, p in MODULES.items() if not n.startswith("qcbo_qnn.cli")
           for i in _imports(n, p, top_level_only=False) if i.startswith("qcbo_qnn.cli")]
    assert not bad, "\n".join(bad)


def test_no_import_cycle_among_module_level_imports():
    graph = {n: {i for i in _imports(n, p, top_level_only=True) if i in MODULES and i != n}
             for n, p in MODULES.items()}
    # a module importing its own package's __init__ is not a cycle of concern when the package
    # __init__ only re-exports; detect cycles between distinct non-package modules
    state, stack, cycles = {}, [], []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in graph[u]:
            if v.startswith(u + ".") or u.startswith(v + "."):
                continue                               # package <-> its own submodule
            if state.get(v) == 1:
                cycles.append(stack[stack.index(v):] + [v])
            elif v not in state:
                visit(v)
        stack.pop()
        state[u] = 2

    for n in graph:
        if n not in state:
            visit(n)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_every_module_imports():
    mods = [m for m in MODULES if not m.endswith("__main__")]
    code = "import importlib\nfor m in %r:\n    importlib.import_module(m)" % mods
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def test_no_machine_paths_in_tracked_files():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not files:
        pytest.skip("not a git checkout")
    bad = []
    for f in files:
        p = ROOT / f
        if p.suffix in (".png", ".npy", ".npz") or not p.is_file():
            continue
        try:
            text = p.read_text()
        except UnicodeDecodeError:
            continue
        for marker in ("/" + d + "/" for d in ("work", "home", "root", "Users")):   # built: not a match here
            if marker in text:
                bad.append(f"{f}: contains {marker!r}")
    assert not bad, "\n".join(bad)


def test_public_api():
    r = subprocess.run([sys.executable, "-c", "from qcbo_qnn import QNNClassifier, load_dataset, solve, get_oracle"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
