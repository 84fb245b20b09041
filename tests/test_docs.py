"""The docs are part of the test suite.

1. Every ```python block of docs/*.md runs (fresh namespace per file, blocks in order). A ```text
   block that follows a python block directly (only blank lines or <!-- markers --> between) is that
   block's printed output and must match what it prints now (floats compared to 9 significant digits).
2. The worked example of docs/formulation.md (between <!-- worked-example:NAME --> and
   <!-- /worked-example -->) is regenerated here, independently of the doc's code, and compared.
3. ``mkdocs build --strict`` succeeds (skipped when mkdocs is not installed).
"""
import contextlib
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w*)\s*$")
FLOAT = re.compile(r"-?\d+\.\d+(?:[eE][-+]?\d+)?|-?\d+[eE][-+]?\d+")


def blocks(text: str):
    """[(lang, code, start_line, output_block_or_None)] in document order."""
    lines = text.splitlines()
    found, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m and m.group(1):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            found.append([m.group(1), "\n".join(lines[i + 1:j]), i + 1, j])
            i = j + 1
        else:
            i += 1
    out = []
    for k, (lang, code, start, end) in enumerate(found):
        following = None
        if lang == "python" and k + 1 < len(found) and found[k + 1][0] == "text":
            between = lines[end + 1:found[k + 1][2] - 1]
            if all(not s.strip() or s.strip().startswith("<!--") for s in between):
                following = found[k + 1][1]
        out.append((lang, code, start, following))
    return out


def normalize(s: str) -> str:
    s = FLOAT.sub(lambda m: f"{float(m.group(0)):.9g}", s)
    return "\n".join(line.rstrip() for line in s.strip().splitlines())


DOC_FILES = sorted(DOCS.glob("*.md"))


@pytest.mark.parametrize("path", DOC_FILES, ids=[p.name for p in DOC_FILES])
def test_python_blocks_run_and_print_what_the_doc_shows(path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(ROOT)
    ns = {"__name__": f"docs_{path.stem}"}
    for lang, code, line, expected in blocks(path.read_text()):
        if lang != "python":
            continue
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            try:
                exec(compile(code, f"{path.name}:{line}", "exec"), ns)
            except Exception as e:  # pragma: no cover - the message names the block
                pytest.fail(f"{path.name}, python block at line {line} raised {type(e).__name__}: {e}")
        if expected is not None:
            assert normalize(buf.getvalue()) == normalize(expected), \
                f"{path.name}: the output shown after the python block at line {line} is stale"


def _worked_example():
    from qcbo_model.fip import FIPNetwork
    from qcbo_model.spec import NetworkSpec
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([-1, 1, 1])
    spec = NetworkSpec(input_dim=2, hidden=(1,), activation="sign", bits=(1, 1), intervals=(2, 2), input_bits=1)
    return FIPNetwork(spec, X, y)


def _marked(text: str, name: str) -> str:
    m = re.search(rf"<!-- worked-example:{name} -->\s*```text\n(.*?)```\s*<!-- /worked-example -->", text, re.S)
    assert m, f"docs/formulation.md lacks the worked-example:{name} block"
    return m.group(1)


def test_worked_example_matches_the_code():
    from qcbo_model.pyomo_model import build_pyomo, show_constraint, to_latex
    text = (DOCS / "formulation.md").read_text()
    net = _worked_example()
    m = build_pyomo(net, "interval")
    buf = io.StringIO()
    m.pprint(ostream=buf)
    assert normalize(_marked(text, "pprint")) == normalize(buf.getvalue())
    assert normalize(_marked(text, "latex")) == normalize(to_latex(m))
    me = build_pyomo(net, "exact")
    exact = "\n".join(show_constraint(me, f, *i) for f, i in
                      [("member", (1, 2, 0)), ("member", (2, 2, 0)), ("rosenberg", (2, 2, 0, 0, 1, 0))])
    assert normalize(_marked(text, "exact")) == normalize(exact)


def test_normalize_notices_a_changed_number():
    assert normalize("a 0.1517948170 b") == normalize("a 0.15179481702361483 b")
    assert normalize("a 0.15179 b") != normalize("a 0.15180 b")


def test_mkdocs_build_strict(tmp_path):
    if shutil.which("mkdocs") is None:
        try:
            import mkdocs  # noqa: F401
        except ImportError:
            pytest.skip("mkdocs not installed (pip install -e '.[docs]')")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
