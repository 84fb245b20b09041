"""The docs are part of the test suite.

1. Every ```python block of docs/*.md runs (fresh namespace per file, blocks in order). A ```text
   block that follows a python block directly (only blank lines or <!-- markers --> between) is that
   block's printed output and must match what it prints now (floats compared to 9 significant digits).
2. The worked example of docs/formulation.md (between <!-- worked-example:NAME --> and
   <!-- /worked-example -->) is regenerated here, independently of the doc's code, and compared.
3. Every ```console block runs: each line ``$ qcbo-qnn ARGS`` (a trailing ``\\`` continues it on the
   next line) is run in-process with ``qcbo_qnn.cli.main(shlex.split(ARGS))`` and must exit 0, or N
   when the command ends with the comment ``# exit N``.  The lines after a command, up to the next
   ``$``, are an excerpt of what it prints: each non-blank line other than ``...`` must appear in its
   output (stdout and stderr, surrounding spaces ignored), in that order; a line ending in ``...``
   matches any output line that starts with the text before it.  Lines may be left out, so timings
   are simply not shown (or cut off with ``...``).  The commands of one page run in order in one
   temporary folder that links every top-level entry of the repository except ``out/`` (so paths
   are relative to the repository root, inputs such as ``tests/data`` are there, and outputs
   written under ``out/`` land in the temporary folder, never in the checkout).  ```bash blocks are
   shown, never run.
4. The built site (``mkdocs build --strict``, links, headless Chromium) is checked in
   ``tests/test_docs_site.py``.
"""
import contextlib
import io
import os
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from qcbo_model.data import DataError

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
EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")


def console_commands(code: str):
    """[(args, expected_exit, [expected output lines])] of one ```console block."""
    cmds, lines = [], code.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("$ "):           # output shown for the previous command
            if line.strip() and line.strip() != "...":
                assert cmds, f"console block: output line before any command: {line!r}"
                cmds[-1][2].append(line.strip())
            i += 1
            continue
        cmd = line[2:]
        while cmd.endswith("\\") and i + 1 < len(lines):
            i += 1
            cmd = cmd[:-1] + " " + lines[i].strip()
        code_expected = 0
        m = EXIT.search(cmd)
        if m:
            code_expected, cmd = int(m.group(1)), cmd[:m.start()]
        argv = shlex.split(cmd)
        assert argv and argv[0] == "qcbo-qnn", f"console block: only qcbo-qnn commands are run, got {cmd!r}"
        cmds.append((argv[1:], code_expected, []))
        i += 1
    return cmds


def _mirror_root(tmp: Path) -> Path:
    """A folder that looks like the repository root (links) but keeps what commands write."""
    for entry in ROOT.iterdir():
        if entry.name in ("out", ".git") or entry.name.startswith("."):
            continue
        os.symlink(entry, tmp / entry.name)
    return tmp


NO_DATA = ("install the Debian package dataset-fashion-mnist, or put the IDX files in "
           "shared/datasets/fashion-mnist beside the repository")


def run_cli(argv) -> tuple:
    from qcbo_qnn.cli import main
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        try:
            rc = main(argv)
        except SystemExit as e:       # argparse: invalid flags exit 2
            rc = e.code if isinstance(e.code, int) else 1
    return rc, buf.getvalue()


def assert_excerpt(expected: list, output: str, where: str) -> None:
    got = [line.strip() for line in output.splitlines()]

    def match(line: str, want: str) -> bool:
        return line.startswith(want[:-3].rstrip()) if want.endswith("...") else line == want

    k = 0
    for want in expected:
        while k < len(got) and not match(got[k], want):
            k += 1
        assert k < len(got), f"{where}: the doc shows {want!r}, which the command no longer prints (in this " \
                             f"order); it printed:\n{output}"
        k += 1


CONSOLE_FILES = [p for p in DOC_FILES if "```console" in p.read_text()]


@pytest.mark.parametrize("path", CONSOLE_FILES, ids=[p.name for p in CONSOLE_FILES])
def test_console_commands_run(path, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(_mirror_root(tmp_path))
    n = 0
    for lang, code, line, _ in blocks(path.read_text()):
        if lang != "console":
            continue
        for argv, expected, excerpt in console_commands(code):
            where = f"{path.name}, console block at line {line}: qcbo-qnn {shlex.join(argv)}"
            rc, out = run_cli(argv)
            if rc == 2 and ("not found and download=False" in out or "could not download" in out):
                pytest.skip(f"{where}: the dataset is not available here; {NO_DATA}")
            assert rc == expected, f"{where}: exit code {rc}, expected {expected}; output:\n{out}"
            assert_excerpt(excerpt, out, where)
            n += 1
    assert n, f"{path.name} has console blocks but no command"


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
            except DataError as e:  # pragma: no cover - only without the datasets
                pytest.skip(f"{path.name}, python block at line {line}: {e}; {NO_DATA}")
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


def latex_for_display(tex: str) -> str:
    """Pyomo's LaTeX export as docs/formulation.md typesets it: labels dropped (they repeat within a
    family), ``align`` as the unnumbered ``aligned``, ``delta[l,n,j,k]`` and ``w[l,j,i,b]`` as
    subscripted symbols."""
    tex = re.sub(r"\s*\\label\{[^}]*\}", "", tex)
    tex = tex.replace("\\begin{align}", "\\begin{aligned}").replace("\\end{align}", "\\end{aligned}")
    tex = re.sub(r"\bdelta\b", r"\\delta", tex)
    tex = re.sub(r"(\\delta|\bw)\[([0-9,]+)\]", r"\1_{\2}", tex)
    return "\n".join(line.rstrip() for line in tex.strip().splitlines())


def _marked_math(text: str, name: str) -> str:
    m = re.search(rf"<!-- worked-example:{name} -->\s*\$\$\n(.*?)\$\$\s*<!-- /worked-example -->", text, re.S)
    assert m, f"docs/formulation.md lacks the worked-example:{name} math block"
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
    assert _marked_math(text, "latex-math").strip() == latex_for_display(to_latex(m))
    me = build_pyomo(net, "exact")
    exact = "\n".join(show_constraint(me, f, *i) for f, i in
                      [("member", (1, 2, 0)), ("member", (2, 2, 0)), ("rosenberg", (2, 2, 0, 0, 1, 0))])
    assert normalize(_marked(text, "exact")) == normalize(exact)


def test_normalize_notices_a_changed_number():
    assert normalize("a 0.1517948170 b") == normalize("a 0.15179481702361483 b")
    assert normalize("a 0.15179 b") != normalize("a 0.15180 b")
