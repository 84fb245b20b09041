"""Reliability battery (issue 13): bad inputs and faults through the CLI and the Python API.

Every case runs in a forked child (address space limited to ``--mem`` GB, wall time limited) and is
classified:

* **A** a clear typed error (CLI: exit 2 with ``qcbo-qnn CMD: error: ...`` and no traceback; API: a
  ``QCBOError`` subclass), or the correct result for legal input;
* **B** an unclear error: a raw traceback, an untyped exception, a typed error that does not say
  what is wrong, or a refusal of legal input;
* **C** silently wrong: nonsense accepted (exit 0), or a wrong result / output for legal input;
* **D** a crash: killed by a signal, MemoryError, or past its time limit (a hang).

    python bench/reliability_battery.py                 # all cases, table + counts
    python bench/reliability_battery.py --label after   # also writes bench/results/reliability_after.json
    python bench/reliability_battery.py --only model    # cases whose id contains 'model'

The fixture files (corrupted instance, model and IDX files) are made in a temporary folder.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse      # noqa: E402
import copy          # noqa: E402
import gzip          # noqa: E402
import json          # noqa: E402
import math          # noqa: E402
import pickle        # noqa: E402
import re            # noqa: E402
import resource      # noqa: E402
import shutil        # noqa: E402
import signal        # noqa: E402
import subprocess    # noqa: E402
import sys           # noqa: E402
import tempfile      # noqa: E402
import time          # noqa: E402
import traceback     # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np   # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CASES = []


class Case:
    def __init__(self, cid, kind, payload, expect="error", msg=None, check=None, rc_ok=(0,), timeout=60,
                 note=""):
        self.id, self.kind, self.payload, self.expect = cid, kind, payload, expect
        self.msg, self.check, self.rc_ok, self.timeout, self.note = msg, check, rc_ok, timeout, note


def cli(cid, argv, expect="error", msg=None, check=None, rc_ok=(0,), timeout=60, note=""):
    CASES.append(Case(cid, "cli", argv, expect, msg, check, rc_ok, timeout, note))


def py(cid, fn, expect="error", msg=None, check=None, timeout=60, note=""):
    CASES.append(Case(cid, "py", fn, expect, msg, check, timeout=timeout, note=note))


def proc(cid, fn, timeout=120, note=""):
    """fn(tmp) -> (letter, note): a scenario with real subprocesses (SIGINT, timing)."""
    CASES.append(Case(cid, "proc", fn, timeout=timeout, note=note))


# ------------------------------------------------------------------------------------------ run
def _child(case, tmp: Path, out_path: Path, mem_bytes: int):
    os.chdir(REPO)
    if mem_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
    fo = os.open(tmp / "stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    fe = os.open(tmp / "stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fo, 1)
    os.dup2(fe, 2)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    res = {}
    try:
        if case.kind == "cli":
            from qcbo_qnn.cli import main
            argv = [a.format(tmp=tmp, fx=FIXTURES, repo=REPO) for a in case.payload]
            try:
                res["rc"] = main(argv)
            except SystemExit as e:
                res["rc"] = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
        else:
            val = case.payload(tmp)
            res["returned"] = True
            if case.check is not None:
                ok, why = case.check(val)
                res["check"], res["why"] = bool(ok), why
    except MemoryError:
        res["exc"], res["exc_type"], res["memory"] = "MemoryError", "MemoryError", True
        res["tb"] = traceback.format_exc()[-2000:]
    except BaseException as e:   # noqa: BLE001 - the battery records everything
        from qcbo_model.errors import QCBOError
        res["exc"] = f"{type(e).__name__}: {e}"[:600]
        res["exc_type"] = type(e).__name__
        res["typed"] = isinstance(e, QCBOError)
        res["tb"] = traceback.format_exc()[-2000:]
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:   # noqa: BLE001
        pass
    with open(out_path, "wb") as f:
        pickle.dump(res, f)
    os._exit(0)


def run_case(case, mem_bytes: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"bat-{re.sub(r'[^A-Za-z0-9]', '_', case.id)[:40]}-"))
    t0 = time.perf_counter()
    if case.kind == "proc":
        try:
            letter, note = case.payload(tmp)
        except Exception as e:   # noqa: BLE001
            letter, note = "B", f"scenario raised {type(e).__name__}: {e}"
        shutil.rmtree(tmp, ignore_errors=True)
        return {"id": case.id, "outcome": letter, "detail": note, "seconds": round(time.perf_counter() - t0, 2)}
    out_path = tmp / "result.pkl"
    pid = os.fork()
    if pid == 0:
        try:
            _child(case, tmp, out_path, mem_bytes)
        finally:
            os._exit(3)
    status, timed_out = None, False
    while True:
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid:
            status = st
            break
        if time.perf_counter() - t0 > case.timeout:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            timed_out = True
            break
        time.sleep(0.02)
    secs = time.perf_counter() - t0
    stdout = (tmp / "stdout").read_text(errors="replace") if (tmp / "stdout").exists() else ""
    stderr = (tmp / "stderr").read_text(errors="replace") if (tmp / "stderr").exists() else ""
    res = {}
    if out_path.exists():
        with open(out_path, "rb") as f:
            res = pickle.load(f)
    letter, detail = classify(case, res, stdout, stderr, tmp, timed_out, status)
    shutil.rmtree(tmp, ignore_errors=True)
    return {"id": case.id, "outcome": letter, "detail": detail[:300], "seconds": round(secs, 2)}


def _scrub(text: str) -> str:
    text = text.replace(str(FIXTURES), "<fixtures>").replace(str(REPO), ".")
    return re.sub(r"/tmp/bat(?:tery)?-[A-Za-z0-9_-]+|/\S*?/shared/datasets", lambda m: "<tmp>" if "/tmp/bat" in
                  m.group(0) else "<datasets>", text)


def _last_line(s: str) -> str:
    lines = [ln for ln in s.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def classify(case, res, stdout, stderr, tmp, timed_out, status):
    if timed_out:
        return "D", f"no result after {case.timeout} s (hang)"
    if not res:
        sig = os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status) else None
        return "D", f"child died (signal {sig}); stderr: {_last_line(stderr)}"
    if res.get("memory"):
        return "D", "MemoryError: " + _last_line(res.get("tb", ""))
    if case.kind == "cli":
        cmd = case.payload[0]
        if "exc" in res:
            return "B", f"traceback: {res['exc']}"
        rc = res["rc"]
        err = stderr.strip()
        typed = rc == 2 and re.search(rf"qcbo-qnn {re.escape(cmd)}: error: ", err) and "Traceback" not in err
        if case.expect == "error":
            if rc in (0,) and not typed:
                return "C", f"accepted (exit 0): {_last_line(stdout)}"
            if typed:
                if case.msg and not re.search(case.msg, err, re.I):
                    return "B", f"typed but unclear (wanted /{case.msg}/): {_last_line(err)}"
                return "A", _last_line(err)
            if "Traceback" in err:
                return "B", "traceback in stderr: " + _last_line(err)
            return "B", f"exit {rc}: {_last_line(err) or _last_line(stdout)}"
        # expect ok
        if "Traceback" in err:
            return "B", "traceback in stderr: " + _last_line(err)
        if rc not in case.rc_ok:
            if typed:
                return "B", f"legal input refused: {_last_line(err)}"
            return "C", f"exit {rc} (wanted {case.rc_ok}): {_last_line(err) or _last_line(stdout)}"
        if case.check is not None:
            try:
                ok, why = case.check(rc, stdout, stderr, tmp)
            except Exception as e:   # noqa: BLE001
                ok, why = False, f"check raised {type(e).__name__}: {e}"
            if not ok:
                return "C", f"wrong result: {why}"
            return "A", f"ok: {why}"
        return "A", f"ok (exit {rc})"
    # python API
    if case.expect == "error":
        if res.get("returned"):
            return "C", "returned without error"
        if res.get("typed"):
            if case.msg and not re.search(case.msg, res["exc"], re.I):
                return "B", f"typed but unclear (wanted /{case.msg}/): {res['exc']}"
            return "A", res["exc"]
        return "B", f"untyped: {res['exc']}"
    if not res.get("returned"):
        return "B", f"legal input refused: {res['exc']}" if res.get("typed") else f"raised {res['exc']}"
    if res.get("check") is False:
        return "C", f"wrong result: {res.get('why')}"
    return "A", f"ok: {res.get('why', '')}"


# ------------------------------------------------------------------------------------- fixtures
FIXTURES = Path(tempfile.mkdtemp(prefix="battery-fixtures-"))
SK20 = str(REPO / "tests/data/ising/sk/SK1_N=20_0.npy")
MC100 = str(REPO / "tests/data/ising/maxcut50/MC50_N=100_1.npy")
G1 = str(REPO / "tests/data/ising/gset/G1.txt")
J3 = np.array([[0, 1, -1], [1, 0, 2], [-1, 2, 0]], float)        # ok3.npy
RUDY_OK = np.array([[0, 1, 2], [1, 0, -1], [2, -1, 0]], float)   # rudy_ok.txt
TINY = ["--pool", "14", "--n-train", "8", "--hidden", "2", "--intervals", "2,4", "--bits", "1,1"]


def fx(name) -> str:
    return str(FIXTURES / name)


def make_fixtures():
    F = FIXTURES
    # ---- instance files
    (F / "empty.npy").write_bytes(b"")
    np.save(F / "object.npy", np.array([[1, "a"], ["b", 2]], dtype=object), allow_pickle=True)
    np.save(F / "string.npy", np.array([["1", "2"], ["2", "1"]]))
    np.save(F / "vector.npy", np.ones(5))
    np.save(F / "cube.npy", np.ones((3, 3, 3)))
    np.save(F / "rect.npy", np.ones((3, 4)))
    np.save(F / "nan.npy", np.array([[0, np.nan], [np.nan, 0]]))
    np.save(F / "inf.npy", np.array([[0, np.inf], [np.inf, 0]]))
    J = J3
    np.save(F / "complex.npy", J + 1j * np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]]))
    np.save(F / "complex_real.npy", J.astype(complex))
    np.save(F / "bool.npy", J != 0)
    np.save(F / "int.npy", J.astype(np.int32))
    np.save(F / "diag.npy", J + np.diag([1.0, 2.0, 3.0]))
    np.save(F / "upper.npy", np.triu(J, 1))
    np.save(F / "asym.npy", np.array([[0, 1, 2], [3, 0, 1], [1, 5, 0]], float))
    np.save(F / "zero0.npy", np.zeros((0, 0)))
    np.save(F / "one.npy", np.zeros((1, 1)))
    np.save(F / "ok3.npy", J)
    np.savez(F / "two.npz", a=J, b=J)
    np.savez(F / "none.npz")
    np.savez(F / "obj.npz", arr_0=np.array([[1, "a"]], dtype=object))
    (F / "notzip.npz").write_bytes(b"PK\x03\x04 broken zip")
    import scipy.sparse as sp
    sp.save_npz(F / "sparse.npz", sp.csr_matrix(J))
    # a .npy whose header promises a huge array
    hdr = b"{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }"
    hdr = hdr + b" " * (118 - len(hdr)) + b"\n"
    (F / "huge_header.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr + b"\0" * 64)
    (F / "trunc.npy").write_bytes(Path(SK20).read_bytes()[:300])
    # rudy text
    (F / "rudy_ok.txt").write_text("3 3\n1 2 1\n2 3 -1\n1 3 2\n")
    (F / "rudy_text.txt").write_text("3 2\n1 2 1\n2 three 1\n")
    (F / "rudy_fraction.txt").write_text("3 2\n1 2 1\n1.5 3 1\n")
    (F / "rudy_range.txt").write_text("3 2\n1 2 1\n2 4 1\n")
    (F / "rudy_zero.txt").write_text("3 2\n0 2 1\n2 3 1\n")
    (F / "rudy_neg.txt").write_text("3 1\n-1 2 1\n")
    (F / "rudy_selfloop.txt").write_text("3 3\n1 2 1\n2 3 1\n3 3 5\n")
    (F / "rudy_dup.txt").write_text("3 3\n1 2 1\n2 1 1\n2 3 1\n")
    (F / "rudy_fewer.txt").write_text("3 5\n1 2 1\n2 3 1\n")
    (F / "rudy_more.txt").write_text("3 1\n1 2 1\n2 3 1\n")
    (F / "rudy_header_text.txt").write_text("three 2\n1 2 1\n")
    (F / "rudy_header_one.txt").write_text("3\n1 2 1\n")
    (F / "rudy_empty.txt").write_text("")
    (F / "rudy_headeronly.txt").write_text("3 0\n")
    (F / "rudy_n0.txt").write_text("0 0\n")
    (F / "rudy_nneg.txt").write_text("-3 1\n1 2 1\n")
    (F / "rudy_nan_w.txt").write_text("3 1\n1 2 nan\n")
    (F / "rudy_4cols.txt").write_text("3 1\n1 2 1 7\n")
    (F / "rudy_2cols.txt").write_text("3 2\n1 2\n2 3\n")
    (F / "rudy_mixedcols.txt").write_text("3 2\n1 2\n2 3 5\n")
    (F / "rudy_crlf.txt").write_text("3 2\r\n1 2 1\r\n2 3 -1\r\n")
    (F / "rudy_blank.txt").write_text("3 2\n\n1 2 1\n\n2 3 -1\n\n")
    (F / "rudy_comment.txt").write_text("# a comment\n3 2\n1 2 1\n2 3 -1\n")
    (F / "rudy_huge_n.txt").write_text("1000000000000 1\n1 2 1\n")
    (F / "rudy_bignum.txt").write_text("3 1\n1 2 1e400\n")
    (F / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (F / "latin1.txt").write_bytes("3 1\n1 2 1 \xe9\n".encode("latin-1"))
    (F / "instdir").mkdir()
    # ---- report-path fixtures
    (F / "afile").write_text("x")
    (F / "real.json").write_text("{}")
    os.symlink(F / "real.json", F / "link.json")


def make_model():
    """A trained model written by the CLI (in a child), plus its report."""
    case = Case("fixture-model", "cli", ["train", "--classes", "0,1", "--n-train", "32", "--descent-iterations", "3",
                                         "--oracle-option", "num_sweeps=20", "--model", fx("model.json"),
                                         "--report", fx("model_report.json")], expect="ok")
    r = run_case(case, 0)
    if not Path(fx("model.json")).exists():
        raise SystemExit(f"could not train the fixture model: {r}")
    d = json.loads(Path(fx("model.json")).read_text())
    muts = {}

    def mut(name, f):
        m = copy.deepcopy(d)
        f(m)                       # mutates m in place (a pop's return value is ignored)
        muts[name] = m

    mut("layer_deleted", lambda m: m.update(layers=m["layers"][:-1]))
    mut("layer_added", lambda m: m.update(layers=m["layers"] + [m["layers"][-1]]))
    mut("layers_empty", lambda m: m.update(layers=[]))
    mut("layers_str", lambda m: m.update(layers="x"))
    mut("spec_hidden", lambda m: m["spec"].update(hidden=[3]))
    mut("spec_input", lambda m: m["spec"].update(input_dim=16))
    mut("spec_bits", lambda m: m["spec"].update(bits=["2", "2"]))
    mut("spec_unknown_key", lambda m: m["spec"].update(colour="red"))
    mut("spec_missing", lambda m: m.pop("spec"))
    mut("code_range", lambda m: m["layers"][0]["codes"][0].__setitem__(0, 5))
    mut("code_fraction", lambda m: m["layers"][0]["codes"][0].__setitem__(0, 0.5))
    mut("code_str", lambda m: m["layers"][0]["codes"][0].__setitem__(0, "1"))
    mut("code_huge", lambda m: m["layers"][1]["codes"][0].__setitem__(0, 1e300))
    mut("codes_ragged", lambda m: m["layers"][0]["codes"][0].pop())
    mut("alpha_nan", lambda m: m["layers"][0].update(alpha=float("nan")))
    mut("alpha_neg", lambda m: m["layers"][0].update(alpha=-1.0))
    mut("alpha_str", lambda m: m["layers"][0].update(alpha="1"))
    mut("c_inf", lambda m: m["layers"][0].update(c=float("inf")))
    mut("gamma_missing", lambda m: m["layers"][1].pop("gamma"))
    mut("K_mismatch", lambda m: m["layers"][0].update(K=3))
    mut("bias_mismatch", lambda m: m["layers"][0].update(has_bias=False))
    mut("bias_str", lambda m: m["layers"][0].update(has_bias="no"))
    mut("t_unsorted", lambda m: m["layers"][0]["t"][0].reverse())
    mut("vlevels_nan", lambda m: m["layers"][0]["v_levels"][0].__setitem__(0, float("nan")))
    mut("format_missing", lambda m: m.pop("format"))
    mut("format_v2", lambda m: m.update(format="qcbo-qnn-model/2"))
    mut("weight_bits_bad", lambda m: m.update(weight_bits="01x"))
    mut("weight_bits_mismatch", lambda m: m.update(weight_bits="0" * len(m["weight_bits"])))
    mut("form_bad", lambda m: m.update(form="banana"))
    mut("meta_classes3", lambda m: m.update(classes=[0, 1, 2]))
    mut("meta_classes_str", lambda m: m.update(classes="01"))
    mut("meta_pool3", lambda m: m.update(pool=3))
    mut("meta_pool14", lambda m: m.update(pool=14))
    mut("meta_pool_str", lambda m: m.update(pool="4"))
    mut("meta_dataset", lambda m: m.update(dataset="cifar"))
    mut("est_classes", lambda m: m["estimator"].update(classes=[0, 1, 2]))
    mut("est_params", lambda m: m["estimator"]["params"].update(colour="red"))
    mut("est_nfeat", lambda m: m["estimator"].update(n_features_in=3))
    for name, m in muts.items():
        Path(fx(f"model_{name}.json")).write_text(json.dumps(m))
    Path(fx("model_array.json")).write_text("[1, 2, 3]")
    Path(fx("model_empty.json")).write_text("")
    Path(fx("model_garbage.json")).write_bytes(bytes(range(256)))
    Path(fx("model_deep.json")).write_text("[" * 100000 + "]" * 100000)
    Path(fx("model_utf16.json")).write_bytes(Path(fx("model.json")).read_text().encode("utf-16"))
    (FIXTURES / "modeldir").mkdir()
    return json.loads(Path(fx("model_report.json")).read_text())


def make_idx():
    """Corrupted copies of the Fashion-MNIST IDX files (the other files are symlinks)."""
    from qcbo_model.data import FILES, find_dataset_dir, _find_file
    src = find_dataset_dir("fashion-mnist", download=False)
    files = {stem: _find_file(src, stem) for pair in FILES.values() for stem in pair}

    def folder(name, change=None, drop=None):
        d = FIXTURES / "idx" / name
        d.mkdir(parents=True)
        for stem, p in files.items():
            if stem == drop:
                continue
            if change and stem in change:
                (d / stem).write_bytes(change[stem](gzip.decompress(p.read_bytes()) if p.suffix == ".gz"
                                                    else p.read_bytes()))
            else:
                os.symlink(p, d / p.name)
        return str(d)

    img, lbl = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
    timg = "t10k-images-idx3-ubyte"
    out = {
        "truncated": folder("truncated", {img: lambda b: b[:len(b) // 2]}),
        "badmagic": folder("badmagic", {img: lambda b: b"\x00\x00\x08\x04" + b[4:]}),
        "header_only": folder("header_only", {lbl: lambda b: b[:5]}),
        "empty": folder("empty", {timg: lambda b: b""}),
        "flipped": folder("flipped", {img: lambda b: b[:-1] + bytes([b[-1] ^ 0xFF])}),
        "count": folder("count", {lbl: lambda b: b[:8] + b[8:-10]}),
        "missing": folder("missing", drop=timg),
        "badgzip": folder("badgzip", {img: lambda b: b"\x1f\x8b" + b"\x00" * 100}),
        "dims": folder("dims", {img: lambda b: b[:8] + (27).to_bytes(4, "big") + b[12:]}),
    }
    return out, str(src)


# ------------------------------------------------------------------------------------- checks
def strict_json(path):
    def bad(c):
        raise ValueError(f"non-standard JSON constant {c}")
    return json.loads(Path(path).read_text(), parse_constant=bad)


def report_has(file, key, want=None, pred=None):
    def check(rc, out, err, tmp):
        d = strict_json(Path(str(file).format(tmp=tmp)))
        v = d
        for k in key.split("."):
            v = v[k]
        if pred is not None:
            return pred(v), f"{key}={v!r}"
        return v == want, f"{key}={v!r}"
    return check


def out_has(pattern):
    def check(rc, out, err, tmp):
        return re.search(pattern, out) is not None, f"stdout /{pattern}/"
    return check


def exact_ground(M, maxcut=False):
    """Brute-force min of H = -1/2 s^T J s (diagonal included; J = -M for MaxCut) of a small matrix."""
    from itertools import product
    M = np.asarray(M, float)
    n = M.shape[0]
    best = None
    for s in product((-1, 1), repeat=n):
        s = np.array(s, float)
        J = -M if maxcut else M
        H = -0.5 * s @ J @ s
        best = H if best is None else min(best, H)
    return best


def energy_is(value, cut=None):
    def check(rc, out, err, tmp):
        m = re.search(r"best energy: (\S+)", out)
        e = float(m.group(1))
        ok = abs(e - value) < 1e-6
        why = f"best energy {e} (exact {value})"
        if cut is not None:
            c = float(re.search(r"best cut   : (\S+)", out).group(1))
            ok &= abs(c - cut) < 1e-6
            why += f", cut {c} (exact {cut})"
        return ok, why
    return check


# ---------------------------------------------------------------------------------------- cases
def define_cases(model_report, idx_dirs, fashion_dir):
    T = TINY
    # ---------------- output paths: checked before the work, for every command
    bad_paths = {"under_file": "{fx}/afile/r.json", "proc": "/proc/qcbo-battery/r.json", "is_dir": "{fx}/instdir"}
    for name, p in bad_paths.items():
        cli(f"path.train.report.{name}", ["train", *T, "--descent-iterations", "2", "--report", p], msg=r"write|folder")
        cli(f"path.train.model.{name}", ["train", *T, "--descent-iterations", "2", "--model", p], msg=r"write|folder")
        cli(f"path.solve.report.{name}", ["solve", *T, "--report", p], msg=r"write|folder")
        cli(f"path.ising.report.{name}", ["ising", "--instance", SK20, "--oracle", "sa", "--reads", "2",
                                          "--report", p], msg=r"write|folder")
    cli("path.train.plots.file", ["train", *T, "--descent-iterations", "2", "--plots", "{fx}/afile"], msg="folder|file")
    cli("path.train.plots.proc", ["train", *T, "--descent-iterations", "2", "--plots", "/proc/qcbo-battery/plots"])
    cli("path.solve.trace.proc", ["solve", *T, "--trace", "/proc/qcbo-battery/t.json"])
    cli("path.verify.json.proc", ["verify", *T, "--cases", "5", "--json", "/proc/qcbo-battery/v.json"])
    cli("path.bounds.json.proc", ["bounds", *T, "--cases", "5", "--json", "/proc/qcbo-battery/b.json"])
    cli("path.build.out.file", ["build", *T, "--out", "{fx}/afile"])
    cli("path.build.out.proc", ["build", *T, "--out", "/proc/qcbo-battery/b"])
    cli("path.predict.report.proc", ["predict", "--model", fx("model.json"), "--report", "/proc/qcbo-battery/p.json"])
    cli("path.baseline.report.proc", ["baseline", *T, "--methods", "logreg", "--report", "/proc/qcbo-battery/b.json"])
    cli("path.report.symlink", ["solve", *T, "--report", fx("link.json")], expect="ok",
        check=lambda rc, o, e, t: ("termination" in strict_json(fx("real.json")) and Path(fx("link.json")).is_symlink(),
                                   "report written through the symlink"))
    cli("path.report.newdirs", ["solve", *T, "--report", "{tmp}/a/b/c/r.json"], expect="ok",
        check=report_has("{tmp}/a/b/c/r.json", "termination", "optimal"))

    # ---------------- data options
    cli("data.n_train.0", ["build", "--n-train", "0"], msg="n.train|n_train")
    cli("data.n_train.neg", ["build", "--n-train", "-5"], msg="n.train|n_train")
    cli("data.n_train.float", ["build", "--n-train", "3.5"])
    cli("data.n_train.huge", ["build", "--n-train", "1000000"], msg="n.train|n_train|available")
    cli("data.n_test.0", ["solve", *T, "--n-test", "0"])
    cli("data.n_test.neg", ["solve", *T, "--n-test", "-1"])
    cli("data.n_test.huge", ["solve", *T, "--n-test", "999999"])
    cli("data.pool.0", ["build", "--pool", "0"], msg="pool")
    cli("data.pool.3", ["build", "--pool", "3"], msg="pool")
    cli("data.pool.neg", ["build", "--pool", "-4"], msg="pool")
    cli("data.pool.digits5", ["build", "--dataset", "digits", "--pool", "5"], msg="pool")
    cli("data.classes.one", ["build", "--classes", "3"], msg="class")
    cli("data.classes.dup", ["build", "--classes", "1,1"], msg="class|duplicate")
    cli("data.classes.range", ["build", "--classes", "0,10"], msg="class")
    cli("data.classes.neg", ["build", "--classes", "-1,2"], msg="class")
    cli("data.classes.text", ["build", "--classes", "a,b"], msg="class|integer")
    cli("data.classes.empty", ["build", "--classes", ","], msg="class")
    cli("data.dataset.unknown", ["build", "--dataset", "cifar"])
    cli("data.data_dir.missing", ["build", "--data-dir", "/nonexistent/folder"], msg="data")
    cli("data.data_dir.file", ["build", "--data-dir", "{fx}/afile"], msg="data")
    cli("data.data_dir.wrong_dataset", ["build", "--dataset", "mnist", "--data-dir", fashion_dir],
        msg=r"fashion-mnist")
    for name, d in idx_dirs.items():
        cli(f"data.idx.{name}", ["build", "--data-dir", d], msg=r"idx|file|image|label|official|read|gzip|magic")
    cli("data.seed.neg", ["build", "--seed", "-1"], msg="seed")
    cli("data.seed.text", ["build", "--seed", "x"], msg="seed|integer")
    cli("data.seed.float", ["build", "--seed", "1.5"])
    cli("data.seed.huge", ["build", *T, "--seed", str(2 ** 70)], msg="seed")

    # ---------------- model options
    cli("model.hidden.zero_inside", ["build", "--hidden", "4,0,2"], msg="hidden")
    cli("model.hidden.neg", ["build", "--hidden", "-2"], msg="hidden")
    cli("model.hidden.text", ["build", "--hidden", "four"], msg="hidden|integer")
    cli("model.hidden.zero_alone", ["build", "--hidden", "0"], expect="ok", check=out_has(r"n_variables"))
    cli("model.hidden.zero_bits", ["build", "--hidden", "0", "--bits", "2"], expect="ok", check=out_has("n_variables"))
    cli("model.hidden.zero_bits2", ["build", "--hidden", "0", "--bits", "1,2"], msg="bits")
    cli("model.hidden.empty", ["build", "--hidden", ","], msg="hidden")
    cli("model.bits.0", ["build", "--bits", "0"], msg="bits")
    cli("model.bits.neg", ["build", "--bits", "-1"], msg="bits")
    cli("model.bits.text", ["build", "--bits", "x"], msg="bits")
    cli("model.bits.count", ["build", "--bits", "1,2,2"], msg="bits")
    cli("model.bits.float", ["build", "--bits", "1.5"], msg="bits")
    cli("model.bits.ternary", ["build", "--bits", "t,2"], expect="ok", check=out_has("n_variables"))
    cli("model.bits.40", ["build", "--bits", "1,40"], msg="bits|memory")
    cli("model.bits.64", ["build", "--bits", "64"], msg="bits|memory")
    cli("model.intervals.0", ["build", "--intervals", "0,8"], msg="interval|K")
    cli("model.intervals.neg", ["build", "--intervals", "-4"], msg="interval|K")
    cli("model.intervals.count", ["build", "--intervals", "4,4,4"], msg="interval")
    cli("model.intervals.float", ["build", "--intervals", "4.5,8"])
    cli("model.intervals.huge", ["build", "--n-train", "16", "--intervals", "4,10000000"], msg="memory")
    cli("model.hidden.huge", ["build", "--hidden", "100000", "--n-train", "16"], msg="memory")
    cli("model.hidden.huge_solve", ["solve", "--solver", "ising-descent", "--hidden", "20000", "--n-train", "16"],
        msg="memory")
    cli("model.activation.unknown", ["build", "--activation", "swish2"], msg="activation")
    cli("model.loss.unknown", ["build", "--loss", "hinge2"], msg="loss")
    cli("model.input_bits.0", ["build", "--input-bits", "0"], msg="input.bits")
    cli("model.input_bits.99", ["build", "--input-bits", "99"], msg="input.bits")
    cli("model.form.exact_nogrid", ["build", "--form", "exact"], msg="input.bits|grid")
    cli("model.form.unknown", ["build", "--form", "banana"])

    # ---------------- method options (generated from the configs): 0 is validated, never the default
    for flag in ("--descent-iterations", "--descent-reads", "--descent-patience"):
        cli(f"method.descent{flag[9:]}.0", ["solve", *T, "--solver", "ising-descent", flag, "0"], msg=flag[2:].split("-", 1)[1])
    cli("method.descent-sharpness.0", ["solve", *T, "--solver", "ising-descent", "--descent-sharpness", "0"],
        msg="sharpness")
    cli("method.descent-sharpness.nan", ["solve", *T, "--solver", "ising-descent", "--descent-sharpness", "nan"],
        msg="sharpness")
    cli("method.descent-iterations.float", ["solve", *T, "--solver", "ising-descent", "--descent-iterations", "2.5"])
    cli("method.descent-ladder.empty", ["solve", *T, "--solver", "ising-descent", "--descent-ladder", ","],
        msg="ladder")
    cli("method.descent-ladder.neg", ["solve", *T, "--solver", "ising-descent", "--descent-ladder", "-1,2"],
        msg="ladder")
    cli("method.random-candidates.0", ["solve", *T, "--solver", "random-search", "--random-candidates", "0"],
        msg="candidates")
    cli("method.qcgd-iterations.0", ["solve", *T, "--solver", "qcgd", "--qcgd-iterations", "0"], msg="iterations")
    cli("method.penalty-lambdas.neg", ["solve", *T, "--solver", "penalty", "--penalty-lambdas", "-1"], msg="lambdas")
    cli("method.ste-lr.0", ["solve", *T, "--solver", "ste", "--ste-lr", "0"], msg="lr")
    cli("method.sa-weights-sweeps.0", ["solve", *T, "--solver", "sa-weights", "--sa-weights-sweeps", "0"],
        msg="sweeps")
    cli("method.exhaustive-max-bits.99", ["solve", *T, "--solver", "exhaustive", "--exhaustive-max-bits", "99"],
        msg="max.bits")
    cli("method.highs-rel-gap.neg", ["solve", *T, "--solver", "highs", "--highs-rel-gap", "-1"], msg="gap")
    cli("method.other_method_flag", ["solve", *T, "--solver", "highs", "--qcgd-iterations", "5"], msg="apply")
    cli("method.oracle_for_highs", ["solve", *T, "--solver", "highs", "--oracle", "sa"], msg="oracle")
    cli("method.oracle.unknown", ["solve", *T, "--solver", "ising-descent", "--oracle", "quantum"])
    cli("method.oracle_option.unknown", ["solve", *T, "--solver", "ising-descent", "--oracle-option", "colour=1"],
        msg="colour|option")
    cli("method.oracle_option.zero", ["solve", *T, "--solver", "ising-descent", "--oracle-option", "num_sweeps=0"],
        msg="num_sweeps")
    cli("method.oracle_option.text", ["solve", *T, "--solver", "ising-descent", "--oracle-option", "num_sweeps=many"],
        msg="num_sweeps")
    cli("method.oracle_option.noeq", ["solve", *T, "--solver", "ising-descent", "--oracle-option", "num_sweeps"])
    cli("method.time_limit.0", ["solve", *T, "--time-limit", "0"], msg="time")
    cli("method.time_limit.neg", ["solve", *T, "--time-limit", "-1"], msg="time")
    cli("method.time_limit.nan", ["solve", *T, "--time-limit", "nan"], msg="time")
    cli("method.time_limit.inf", ["solve", *T, "--time-limit", "inf"], msg="time")
    cli("method.time_limit.text", ["solve", *T, "--time-limit", "soon"], msg="time")
    cli("method.descent_reads.huge", ["solve", *T, "--solver", "ising-descent", "--descent-reads", "100000000"],
        msg="memory", timeout=90)
    cli("method.sa_weights_reads.huge", ["solve", *T, "--solver", "sa-weights", "--sa-weights-reads", "100000000"],
        msg="memory", timeout=90)
    cli("method.penalty_reads.huge", ["solve", *T, "--solver", "penalty", "--penalty-reads", "100000000"],
        msg="memory", timeout=90)
    cli("method.descent.exit0", ["solve", *T, "--solver", "ising-descent", "--descent-iterations", "3"], expect="ok",
        check=out_has(r"termination: (iteration_limit|stalled|converged)"))
    cli("method.train.exit0", ["train", *T, "--descent-iterations", "3"], expect="ok",
        check=out_has(r"termination: (iteration_limit|stalled|converged)"))
    cli("method.oracle_option.ok", ["solve", *T, "--solver", "ising-descent", "--descent-iterations", "2",
                            "--oracle-option", "num_sweeps=10"], expect="ok")

    # ---------------- verify / bounds / baseline / build specifics
    cli("verify.cases.0", ["verify", *T, "--cases", "0"], msg="cases")
    cli("verify.cases.neg", ["verify", *T, "--cases", "-3"], msg="cases")
    cli("verify.only.unknown", ["verify", *T, "--only", "z"], msg="check")
    cli("verify.only.empty", ["verify", *T, "--only", ","], msg="check|only")
    cli("verify.cases.huge", ["verify", *T, "--cases", "1000000000", "--only", "forward_completion"], msg="memory|cases",
        timeout=60)
    cli("verify.time_limit.0", ["verify", *T, "--time-limit", "0"], msg="time")
    cli("bounds.cases.0", ["bounds", *T, "--cases", "0"], msg="cases")
    cli("bounds.cases.huge", ["bounds", *T, "--cases", "1000000000"], msg="memory|cases", timeout=60)
    cli("bounds.epsilon.0", ["bounds", *T, "--epsilon", "0"], msg="epsilon")
    cli("bounds.delta.2", ["bounds", *T, "--delta", "2"], msg="delta")
    cli("bounds.delta.1", ["bounds", *T, "--delta", "1"], msg="delta")
    cli("bounds.trace.missing", ["bounds", *T, "--trace", "/nonexistent.json"], msg="trace")
    cli("bounds.trace.garbage", ["bounds", *T, "--trace", fx("binary.bin")], msg="trace")
    cli("bounds.trace.wrongshape", ["bounds", *T, "--trace", fx("model.json")], msg="trace")
    cli("bounds.wall_time.neg", ["bounds", *T, "--wall-time", "-1"], msg="wall")
    cli("bounds.success_energy.nan", ["bounds", *T, "--success-energy", "nan"], msg="energy")
    cli("baseline.methods.unknown", ["baseline", *T, "--methods", "magic"], msg="method")
    cli("baseline.methods.empty", ["baseline", *T, "--methods", ","], msg="method")
    cli("baseline.methods.dup", ["baseline", *T, "--methods", "logreg,logreg"], msg="method|duplicate")
    cli("build.nolp.out", ["build", *T, "--out", "{tmp}/b"], expect="ok",
        check=lambda rc, o, e, t: ((t / "b" / "summary.json").exists() and (t / "b" / "qcbo.npz").exists(), "files"))

    # ---------------- ising command and instance files
    cli("ising.reads.0", ["ising", "--instance", SK20, "--oracle", "sa", "--reads", "0"], msg="reads")
    cli("ising.reads.neg", ["ising", "--instance", SK20, "--oracle", "sa", "--reads", "-2"], msg="reads")
    cli("ising.reads.huge_cim", ["ising", "--instance", SK20, "--oracle", "cim", "--reads", "100000000",
                                 "--time-limit", "1"], msg="memory", timeout=60)
    cli("ising.reads.huge_sa", ["ising", "--instance", SK20, "--oracle", "sa", "--reads", "100000000"],
        msg="memory", timeout=60)
    cli("ising.reads.huge_greedy", ["ising", "--instance", SK20, "--oracle", "greedy", "--reads", "100000000"],
        msg="memory", timeout=60)
    cli("ising.steps.0_sa", ["ising", "--instance", SK20, "--oracle", "sa", "--steps", "0"], msg="sweeps|steps")
    cli("ising.steps.0_cim", ["ising", "--instance", SK20, "--oracle", "cim", "--steps", "0"], msg="steps")
    cli("ising.steps.neg", ["ising", "--instance", SK20, "--oracle", "sa", "--steps", "-1"], msg="steps|sweeps")
    cli("ising.steps.exact", ["ising", "--instance", SK20, "--oracle", "exact", "--steps", "5"], msg="steps")
    cli("ising.target.nan", ["ising", "--instance", SK20, "--oracle", "sa", "--target", "nan"], msg="target")
    cli("ising.target.unreached", ["ising", "--instance", SK20, "--oracle", "random", "--reads", "2", "--target",
                                   "-1000", "--report", "{tmp}/r.json"], expect="ok",
        check=lambda rc, o, e, t: (strict_json(t / "r.json")["tts99_s"] is None, "tts99_s null, strict JSON"))
    cli("ising.time_limit.neg", ["ising", "--instance", SK20, "--time-limit", "-1"], msg="time")
    cli("ising.seed.neg", ["ising", "--instance", SK20, "--seed", "-1"], msg="seed")
    cli("ising.oracle_option.bad", ["ising", "--instance", SK20, "--oracle", "sa", "--oracle-option", "x=1"],
        msg="option")
    cli("ising.exact.too_big", ["ising", "--instance", MC100, "--oracle", "exact"], msg="n=|24")
    cli("ising.dimod.nosampler", ["ising", "--instance", SK20, "--oracle", "dimod"], msg="sampler")
    cli("ising.maxcut.ok", ["ising", "--instance", MC100, "--maxcut", "--oracle", "sa", "--reads", "4", "--steps",
                            "500"], expect="ok", check=out_has(r"best cut   : 1438"))
    cli("ising.gset.ok", ["ising", "--instance", G1, "--maxcut", "--oracle", "sa", "--reads", "1", "--steps", "50"],
        expect="ok", check=out_has(r"best cut"))
    inst = lambda f, *extra: ["ising", "--instance", f, "--oracle", "exact", "--reads", "1", *extra]   # noqa: E731
    cli("inst.missing", inst("/nonexistent.npy"), msg="not found|exist")
    cli("inst.dir", inst(fx("instdir")), msg="folder|directory")
    cli("inst.npy.empty", inst(fx("empty.npy")), msg="empty|npy")
    cli("inst.npy.object", inst(fx("object.npy")), msg="object|numeric|pickle")
    cli("inst.npy.string", inst(fx("string.npy")), msg="numeric|dtype|string")
    cli("inst.npy.vector", inst(fx("vector.npy")), msg="square")
    cli("inst.npy.cube", inst(fx("cube.npy")), msg="square")
    cli("inst.npy.rect", inst(fx("rect.npy")), msg="square")
    cli("inst.npy.nan", inst(fx("nan.npy")), msg="nan")
    cli("inst.npy.inf", inst(fx("inf.npy")), msg="inf")
    cli("inst.npy.complex", inst(fx("complex.npy")), msg="complex")
    cli("inst.npy.complex_real", inst(fx("complex_real.npy")), expect="ok",
        check=energy_is(exact_ground(J3)))
    cli("inst.npy.bool", inst(fx("bool.npy")), expect="ok", check=energy_is(-3.0))
    cli("inst.npy.int", inst(fx("int.npy")), expect="ok", check=energy_is(exact_ground(J3)))
    cli("inst.npy.diag", inst(fx("diag.npy")), expect="ok",
        check=energy_is(exact_ground(J3) - 0.5 * 6.0),
        note="H = -1/2 s^T J s with the diagonal: a constant -1/2 tr J")
    cli("inst.npy.upper", inst(fx("upper.npy")), expect="ok", check=energy_is(exact_ground(J3)))
    cli("inst.npy.asym", inst(fx("asym.npy")), msg="symmetric")
    cli("inst.npy.zero0", inst(fx("zero0.npy")), msg="no variables|empty|0")
    cli("inst.npy.one", inst(fx("one.npy")), expect="ok", check=energy_is(0.0))
    cli("inst.npy.huge_header", inst(fx("huge_header.npy")), msg="memory|truncated|bytes|size")
    cli("inst.npy.truncated", inst(fx("trunc.npy")), msg="truncated|npy|bytes|size")
    cli("inst.npz.two", inst(fx("two.npz")), msg="npz|array")
    cli("inst.npz.none", inst(fx("none.npz")), msg="npz|array|empty")
    cli("inst.npz.object", inst(fx("obj.npz")), msg="object|numeric|pickle")
    cli("inst.npz.notzip", inst(fx("notzip.npz")), msg="npz|zip")
    cli("inst.npz.sparse", inst(fx("sparse.npz")), expect="ok", check=energy_is(exact_ground(J3)))
    cli("inst.fmt.npy_as_rudy", inst(SK20, "--format", "rudy"), msg="rudy|text")
    cli("inst.fmt.rudy_as_npy", inst(fx("rudy_ok.txt"), "--format", "npy"), msg="npy")
    cli("inst.fmt.npy_as_npz", inst(SK20, "--format", "npz"), msg="npz|zip")
    cli("inst.binary_as_rudy", inst(fx("binary.bin")), msg="rudy|text")
    cli("inst.latin1", inst(fx("latin1.txt")), msg="line 2|text|utf")
    cli("inst.rudy.ok", inst(fx("rudy_ok.txt")), expect="ok", check=energy_is(exact_ground(RUDY_OK)))
    cli("inst.rudy.text", inst(fx("rudy_text.txt")), msg=r"line 3")
    cli("inst.rudy.fraction", inst(fx("rudy_fraction.txt")), msg=r"line 3")
    cli("inst.rudy.range", inst(fx("rudy_range.txt")), msg=r"line 3")
    cli("inst.rudy.zero", inst(fx("rudy_zero.txt")), msg=r"line 2")
    cli("inst.rudy.neg", inst(fx("rudy_neg.txt")), msg=r"line 2")
    cli("inst.rudy.fewer", inst(fx("rudy_fewer.txt")), msg=r"5|edge")
    cli("inst.rudy.more", inst(fx("rudy_more.txt")), msg=r"line 3|1 edge|edge")
    cli("inst.rudy.header_text", inst(fx("rudy_header_text.txt")), msg=r"line 1")
    cli("inst.rudy.header_one", inst(fx("rudy_header_one.txt")), msg=r"line 1")
    cli("inst.rudy.empty", inst(fx("rudy_empty.txt")), msg=r"empty|line 1")
    cli("inst.rudy.headeronly", inst(fx("rudy_headeronly.txt")), expect="ok", check=energy_is(0.0),
        note="3 spins, no couplings: H = 0")
    cli("inst.rudy.n0", inst(fx("rudy_n0.txt")), msg=r"no variables|no spins|at least one")
    cli("inst.rudy.nneg", inst(fx("rudy_nneg.txt")), msg=r"line 1")
    cli("inst.rudy.nan_w", inst(fx("rudy_nan_w.txt")), msg=r"line 2")
    cli("inst.rudy.bignum", inst(fx("rudy_bignum.txt")), msg=r"line 2")
    cli("inst.rudy.4cols", inst(fx("rudy_4cols.txt")), msg=r"line 2")
    cli("inst.rudy.2cols", inst(fx("rudy_2cols.txt")), expect="ok", check=energy_is(-2.0),
        note="weights default to 1: chain of 2 ferromagnetic bonds")
    cli("inst.rudy.mixedcols", inst(fx("rudy_mixedcols.txt")), msg=r"line|column")
    cli("inst.rudy.crlf", inst(fx("rudy_crlf.txt")), expect="ok", check=energy_is(-2.0))
    cli("inst.rudy.blank", inst(fx("rudy_blank.txt")), expect="ok", check=energy_is(-2.0))
    cli("inst.rudy.comment", inst(fx("rudy_comment.txt")), expect="ok", check=energy_is(-2.0))
    cli("inst.rudy.selfloop", inst(fx("rudy_selfloop.txt")), expect="ok", check=energy_is(-2.0 - 2.5),
        note="a self-loop i i w is J_ii = w: constant -w/2")
    cli("inst.rudy.selfloop_cut", inst(fx("rudy_selfloop.txt"), "--maxcut"), expect="ok",
        check=energy_is(-2.0 + 2.5 + 0.0, cut=2.0), note="a self-loop is never cut")
    cli("inst.rudy.dup", inst(fx("rudy_dup.txt")), expect="ok", check=energy_is(-3.0),
        note="repeated edges add up (J_12 = 2)")
    cli("inst.rudy.huge_n", ["ising", "--instance", fx("rudy_huge_n.txt"), "--oracle", "sa", "--reads", "1"],
        msg="memory|spins|N", timeout=60)
    # npy maxcut: total weight and cut consistent with brute force
    cli("inst.npy.maxcut_diag", inst(fx("diag.npy"), "--maxcut"), expect="ok",
        check=energy_is(exact_ground(J3, maxcut=True) + 3.0,
                        cut=_maxcut_exact(J3)),
        note="MaxCut with a diagonal: the diagonal is never cut")

    # ---------------- predict and model files
    good = model_report["test_accuracy"]
    cli("model.predict.ok", ["predict", "--model", fx("model.json")], expect="ok",
        check=out_has(rf"test_accuracy: {good:.4f}"))
    cli("model.predict.dir", ["predict", "--model", fx("modeldir")], msg="model")
    for name in ("array", "empty", "garbage", "deep", "utf16"):
        cli(f"model.file.{name}", ["predict", "--model", fx(f"model_{name}.json")], msg="model")
    for name in ("layer_deleted", "layer_added", "layers_empty", "layers_str", "spec_hidden", "spec_input",
                 "spec_bits", "spec_unknown_key", "spec_missing", "code_range", "code_fraction", "code_str",
                 "code_huge", "codes_ragged", "alpha_nan", "alpha_neg", "alpha_str", "c_inf", "gamma_missing",
                 "K_mismatch", "bias_mismatch", "bias_str", "t_unsorted", "vlevels_nan", "format_missing",
                 "format_v2", "weight_bits_bad", "weight_bits_mismatch", "form_bad", "meta_classes3",
                 "meta_classes_str", "meta_pool3", "meta_pool14", "meta_pool_str", "meta_dataset"):
        cli(f"model.file.{name}", ["predict", "--model", fx(f"model_{name}.json")],
            msg="model|layer|spec|format|class|pool|dataset|feature|code|weight")
    cli("model.predict.classes_other", ["predict", "--model", fx("model.json"), "--classes", "2,3"], msg="class")
    cli("model.predict.classes3", ["predict", "--model", fx("model.json"), "--classes", "0,1,2"], msg="class|output")
    cli("model.predict.dataset_other", ["predict", "--model", fx("model.json"), "--dataset", "mnist"],
        msg="dataset|trained")
    cli("model.predict.n_test0", ["predict", "--model", fx("model.json"), "--n-test", "0"], msg="n.test")
    cli("model.predict.seed_neg", ["predict", "--model", fx("model.json"), "--seed", "-1"], msg="seed")

    # ---------------- Python API boundary
    define_api_cases()
    # ---------------- SIGINT and time limits (real subprocesses)
    define_proc_cases()


def _maxcut_exact(A):
    from itertools import product
    n = A.shape[0]
    best = 0.0
    for s in product((-1, 1), repeat=n):
        c = sum(A[i, j] for i in range(n) for j in range(i + 1, n) if s[i] != s[j])
        best = max(best, c)
    return best


# ------------------------------------------------------------------------------------ API cases
def _tiny_problem():
    from qcbo_model.data import load_dataset
    from qcbo_model.problem import build_problem
    from qcbo_model.spec import NetworkSpec
    ds = load_dataset("fashion-mnist", classes=(0, 1), n_train=8, pool=14, seed=0)
    spec = NetworkSpec(input_dim=4, hidden=(2,), bits=(1, 1), intervals=(2, 4))
    return build_problem(ds.X_train, ds.y_train, spec), ds


def _xy(n=8, d=4):
    rng = np.random.default_rng(0)
    return rng.random((n, d)), np.where(np.arange(n) % 2 == 0, 1, -1)


def define_api_cases():
    from qcbo_model.spec import NetworkSpec
    S = lambda **kw: (lambda tmp: NetworkSpec(**{"input_dim": 4, **kw}))   # noqa: E731

    def ok_spec(pred):
        return lambda s: (pred(s), repr((s.hidden, s.bits, s.intervals)))

    # NetworkSpec types
    py("api.spec.hidden_str", S(hidden="4"), msg="hidden")
    py("api.spec.hidden_float", S(hidden=4.0), msg="hidden")
    py("api.spec.hidden_floats", S(hidden=(4.0,)), msg="hidden")
    py("api.spec.hidden_np", S(hidden=np.array([4, 2])), expect="ok", check=ok_spec(lambda s: s.hidden == (4, 2)))
    py("api.spec.hidden_npint", S(hidden=(np.int64(3),)), expect="ok", check=ok_spec(lambda s: s.hidden == (3,)))
    py("api.spec.hidden_none", S(hidden=None), msg="hidden")
    py("api.spec.input_np", lambda t: NetworkSpec(input_dim=np.int32(4)), expect="ok",
       check=lambda s: (s.input_dim == 4, "input_dim"))
    py("api.spec.input_float", lambda t: NetworkSpec(input_dim=4.0), msg="input_dim")
    py("api.spec.intervals_float", S(intervals=(4.5, 8)), msg="intervals")
    py("api.spec.intervals_np", S(intervals=np.array([3, 5])), expect="ok",
       check=ok_spec(lambda s: s.intervals == (3, 5)))
    py("api.spec.bits_str_digit", S(bits=("1", "2")), expect="ok", check=ok_spec(lambda s: s.bits == ("1", "2")),
       note="digit strings are the documented bit tokens (as 't' is)")
    py("api.spec.bits_str_float", S(bits=("1.5",)), msg="bits")
    py("api.spec.bits_np", S(bits=np.array([1, 2])), expect="ok", check=ok_spec(lambda s: s.bits == (1, 2)))
    py("api.spec.bits_float", S(bits=(1.0, 2.0)), msg="bits")
    py("api.spec.bits_huge", S(bits=(1, 60)), msg="bits")
    py("api.spec.bias_str", S(bias="no"), msg="bias")
    py("api.spec.bias_np", S(bias=np.bool_(False)), expect="ok", check=lambda s: (s.bias == (False, False), "bias"))
    py("api.spec.bias_scale_str", S(bias_scale="2"), msg="bias_scale")
    py("api.spec.scales_np", S(scales=np.float64(0.5)), expect="ok", check=lambda s: (s.scales[0] == 0.5, "scales"))
    py("api.spec.scales_str", S(scales="big"), msg="scales")
    py("api.spec.level_step_str", S(input_bits=2, level_step="x"), msg="level_step")
    py("api.spec.seed_neg", S(seed=-1), msg="seed")
    py("api.spec.seed_float", S(seed=1.0), msg="seed")
    py("api.spec.activation_int", S(activation=3), msg="activation")
    py("api.spec.breakpoints_int", S(breakpoints=1), msg="breakpoints")
    py("api.spec.input_bits_float", S(input_bits=2.0), msg="input_bits")
    py("api.spec.output_dim_0", S(output_dim=0), msg="output_dim")

    # build_problem data
    def bp(X=None, y=None, **kw):
        def f(tmp):
            from qcbo_model.problem import build_problem
            X0, y0 = _xy()
            return build_problem(X0 if X is None else X, y0 if y is None else y,
                                 NetworkSpec(input_dim=4, hidden=(2,), bits=(1, 1), intervals=(2, 4)), **kw)
        return f
    X0, y0 = _xy()
    py("api.build.X_nan", bp(X=np.where(X0 > 0.9, np.nan, X0)), msg="nan|finite")
    py("api.build.X_1d", bp(X=X0[:, 0]), msg="2-D|shape")
    py("api.build.X_features", bp(X=X0[:, :3]), msg="feature|input_dim")
    py("api.build.y_len", bp(y=y0[:5]), msg="y|label|sample")
    py("api.build.y_values", bp(y=np.arange(8)), msg="label|y|-1")
    py("api.build.y_str", bp(y=np.array(["a", "b"] * 4)), msg="label|y")
    py("api.build.X_str", bp(X=np.array([["a"] * 4] * 8)), msg="X|numeric|float")
    py("api.build.form", bp(form="banana"), msg="form")
    py("api.build.empty", bp(X=X0[:0], y=y0[:0]), msg="sample|empty|N")
    py("api.build.X_list", bp(X=X0.tolist(), y=y0.tolist()), expect="ok", check=lambda p: (p.qcbo.n > 0, "built"))

    # load_dataset
    def ld(**kw):
        def f(tmp):
            from qcbo_model.data import load_dataset
            return load_dataset(**{"name": "fashion-mnist", "n_train": 8, "pool": 14, **kw})
        return f
    py("api.data.classes_str", ld(classes=("0", "1")), msg="class")
    py("api.data.classes_float", ld(classes=(0.5, 1)), msg="class")
    py("api.data.classes_np", ld(classes=np.array([0, 1])), expect="ok", check=lambda d: (d.classes == (0, 1), "ok"))
    py("api.data.n_train_float", ld(n_train=8.5), msg="n_train")
    py("api.data.n_train_str", ld(n_train="8"), msg="n_train")
    py("api.data.n_train_np", ld(n_train=np.int64(8)), expect="ok", check=lambda d: (len(d.X_train) == 8, "8"))
    py("api.data.n_test_float", ld(n_test=10.7), msg="n_test")
    py("api.data.seed_neg", ld(seed=-1), msg="seed")
    py("api.data.seed_float", ld(seed=0.5), msg="seed")
    py("api.data.seed_np", ld(seed=np.int64(3)), expect="ok", check=lambda d: (len(d.X_train) == 8, "ok"))
    py("api.data.pool_float", ld(pool=14.0), msg="pool")
    py("api.data.name_none", ld(name=None), msg="dataset")

    # QNNClassifier
    def clf(fit=True, X=None, y=None, **kw):
        def f(tmp):
            from qcbo_qnn import QNNClassifier
            X0, y0 = _xy()
            params = {"hidden": (2,), "bits": (1, 1), "intervals": (2, 4), "solver": "ising-descent",
                      "solver_options": {"iterations": 2, "oracle_options": {"num_sweeps": 10}}, **kw}
            c = QNNClassifier(**params)
            if fit:
                c.fit(X0 if X is None else X, y0 if y is None else y)
            return c
        return f
    py("api.clf.hidden_str", clf(hidden="4"), msg="hidden")
    py("api.clf.hidden_int", clf(hidden=2), expect="ok", check=lambda c: (c.network_.spec.hidden == (2,), "(2,)"))
    py("api.clf.hidden_np", clf(hidden=np.array([2])), expect="ok",
       check=lambda c: (c.network_.spec.hidden == (2,), "ok"))
    py("api.clf.random_state_neg", clf(random_state=-1), msg="random_state")
    py("api.clf.random_state_float", clf(random_state=1.5), msg="random_state")
    py("api.clf.random_state_np", clf(random_state=np.int64(1)), expect="ok", check=lambda c: (c.seed_ == 1, "1"))
    py("api.clf.solver_unknown", clf(solver="magic"), msg="method|solver")
    py("api.clf.solver_options_unknown", clf(solver_options={"colour": 1}), msg="colour|option")
    py("api.clf.solver_options_np", clf(solver_options={"iterations": np.int64(2), "oracle_options":
                                                        {"num_sweeps": np.int64(10)}}), expect="ok",
       check=lambda c: (c.result_.feasible, "feasible"))
    py("api.clf.solver_options_float", clf(solver_options={"iterations": 2.0}), msg="iterations")
    py("api.clf.solver_options_list", clf(solver_options=[("iterations", 2)]), msg="solver_options|mapping")
    py("api.clf.oracle_unknown", clf(oracle="quantum"), msg="oracle")
    py("api.clf.oracle_highs", clf(solver="highs", oracle="sa"), msg="oracle")
    py("api.clf.X_nan", clf(X=np.full((8, 4), np.nan)), msg="nan")
    py("api.clf.one_class", clf(y=np.ones(8)), msg="class")
    py("api.clf.X_1d", clf(X=np.ones(8)), msg="2D|2-D|shape|array")
    py("api.clf.bias_str", clf(bias="no"), msg="bias")
    py("api.clf.progress_str", clf(progress="yes"), msg="progress")
    py("api.clf.form_exact_nogrid", clf(form="exact"), msg="input_bits|grid")

    def predict_wrong(tmp):
        c = clf()(tmp)
        return c.predict(np.ones((3, 5)))
    py("api.clf.predict_features", predict_wrong, msg="feature")

    def predict_unfitted(tmp):
        from qcbo_qnn import QNNClassifier
        return QNNClassifier().predict(np.ones((3, 4)))
    py("api.clf.predict_unfitted", predict_unfitted, msg="fit")

    def load_bad(name):
        def f(tmp):
            from qcbo_qnn import QNNClassifier
            return QNNClassifier.load(fx(f"model_{name}.json"))
        return f
    for name in ("est_classes", "est_params", "est_nfeat", "layer_deleted", "deep"):
        py(f"api.clf.load_{name}", load_bad(name), msg="model|class|param|feature|layer")

    # solve()
    def sv(method, **kw):
        def f(tmp):
            from solvers import solve
            prob, _ = _tiny_problem()
            return solve(prob, method, **kw)
        return f
    py("api.solve.unknown", sv("magic"), msg="method")
    py("api.solve.time_neg", sv("highs", time_limit=-1), msg="time_limit")
    py("api.solve.time_np", sv("highs", time_limit=np.float64(5)), expect="ok",
       check=lambda r: (r.feasible, str(r.termination)))
    py("api.solve.iter_np", sv("ising-descent", iterations=np.int64(2)), expect="ok",
       check=lambda r: (r.feasible and r.config.iterations == 2, str(r.termination)))
    py("api.solve.iter_float", sv("ising-descent", iterations=2.0), msg="iterations")
    py("api.solve.iter_str", sv("ising-descent", iterations="2"), msg="iterations")
    py("api.solve.ladder_np", sv("ising-descent", iterations=2, ladder=np.array([0.5, 1.0])), expect="ok",
       check=lambda r: (r.config.ladder == (0.5, 1.0), "ladder"))
    py("api.solve.ladder_str", sv("ising-descent", ladder="0.5"), msg="ladder")
    py("api.solve.seed_neg", sv("ising-descent", seed=-1), msg="seed")
    py("api.solve.warm_bad", lambda t: __import__("solvers").solve(_tiny_problem()[0], "ising-descent", iterations=2,
                                                                   warm_start=np.ones(3)), msg="warm")
    py("api.solve.problem_bad", lambda t: __import__("solvers").solve("problem", "highs"), msg="problem|FIPProblem")
    py("api.solve.config_wrong", lambda t: __import__("solvers").solve(
        _tiny_problem()[0], "highs", __import__("solvers").method_config("qcgd")), msg="config")

    # oracles
    def orc(name, **kw):
        return lambda tmp: __import__("solvers").get_oracle(name, **kw)
    py("api.oracle.cim_steps0", orc("cim", num_steps=0), msg="num_steps")
    py("api.oracle.sa_sweeps_float", orc("sa", num_sweeps=10.0), msg="num_sweeps")
    py("api.oracle.sa_sweeps_np", orc("sa", num_sweeps=np.int64(10)), expect="ok", check=lambda o: (True, repr(o)))
    py("api.oracle.sa_beta_str", orc("sa", beta_range="hot"), msg="beta")
    py("api.oracle.greedy_neg", orc("greedy", max_iter=-1), msg="max_iter")
    py("api.oracle.unknown_opt", orc("sa", colour=1), msg="colour|option")

    def sample(problem_fn, **kw):
        def f(tmp):
            from solvers import get_oracle
            return get_oracle(kw.pop("oracle", "sa"), **kw.pop("opts", {})).sample(problem_fn(), **kw)
        return f
    from solvers.ising.problems import QUBO, Ising
    Q3 = lambda: QUBO(np.array([[1.0, -2, 0], [0, 1, -2], [0, 0, 1]]))   # noqa: E731
    py("api.sample.reads_np", sample(Q3, num_reads=np.int64(3)), expect="ok",
       check=lambda s: (s.num_reads == 3, "3 reads"))
    py("api.sample.reads_float", sample(Q3, num_reads=3.0), msg="num_reads")
    py("api.sample.reads_huge", sample(Q3, num_reads=10 ** 9), msg="memory")
    py("api.sample.time_np", sample(Q3, num_reads=2, time_limit=np.float64(1.0)), expect="ok",
       check=lambda s: (s.num_reads >= 1, "ok"))
    py("api.sample.target_str", sample(Q3, target_energy="low"), msg="target")
    py("api.sample.seed_float", sample(Q3, seed=1.5), msg="seed")
    py("api.qubo.nan", lambda t: QUBO(np.array([[np.nan]])), msg="nan")
    py("api.qubo.rect", lambda t: QUBO(np.ones((2, 3))), msg="square")
    py("api.qubo.str", lambda t: QUBO("abc"), msg="matrix|float|square")
    py("api.qubo.complex", lambda t: QUBO(np.array([[1 + 1j]])), msg="complex")
    py("api.qubo.list", lambda t: QUBO([[1, 0], [0, 1]]), expect="ok", check=lambda q: (q.n == 2, "n=2"))
    py("api.ising.h_len", lambda t: Ising(np.ones(3), np.zeros((2, 2))), msg="h")
    py("api.ising.offset_str", lambda t: Ising(None, np.zeros((2, 2)), offset="1"), msg="offset")
    py("api.ising.offset_nan", lambda t: Ising(None, np.zeros((2, 2)), offset=float("nan")), msg="offset")
    py("api.method_config.unknown_field", lambda t: __import__("solvers").method_config("highs", colour=1),
       msg="colour|option")

    # fault injection: oracles that misbehave, solvers that time out
    from solvers.ising.base import Oracle, SampleSet

    class WrongShape(Oracle):
        name = "wrong-shape"

        def _sample_spins(self, ising, num_reads, rng, **kw):
            return np.ones((num_reads, ising.n + 1), np.int8), {}

    class Raises(Oracle):
        name = "raises"

        def _sample_spins(self, ising, num_reads, rng, **kw):
            raise RuntimeError("hardware fault")

    class NaNEnergy(Oracle):
        name = "nan-energy"

        def sample(self, problem, num_reads=None, seed=None, target_energy=None, time_limit=None, **kw):
            n = problem.n
            return SampleSet(np.zeros((2, n), np.uint8), np.full(2, np.nan))

    class BadSamples(Oracle):
        name = "bad-samples"

        def sample(self, problem, num_reads=None, seed=None, target_energy=None, time_limit=None, **kw):
            n = problem.n
            return SampleSet(np.full((2, n - 1), 7, np.uint8), np.zeros(2))

    class ReturnsNone(Oracle):
        name = "returns-none"

        def sample(self, problem, num_reads=None, seed=None, target_energy=None, time_limit=None, **kw):
            return None

    class Slow(Oracle):
        name = "slow"

        def _sample_spins(self, ising, num_reads, rng, **kw):
            time.sleep(0.4)
            return rng.choice(np.array([-1, 1], np.int8), size=(num_reads, ising.n)), {}

    for cls in (WrongShape, Raises, NaNEnergy, BadSamples, ReturnsNone):
        for method in ("ising-descent", "qcgd", "penalty"):
            def f(tmp, cls=cls, method=method):
                from solvers import solve
                prob, _ = _tiny_problem()
                opts = {"ising-descent": {"iterations": 3}, "qcgd": {"iterations": 3}, "penalty": {}}[method]
                return solve(prob, method, oracle=cls(), **opts)
            py(f"fault.{cls.name}.{method}", f, msg="oracle|" + cls.name)

    def slow(tmp, method="ising-descent"):
        from solvers import solve
        prob, _ = _tiny_problem()
        t0 = time.perf_counter()
        r = solve(prob, method, oracle=Slow(), time_limit=1.0, iterations=1000)
        return r, time.perf_counter() - t0
    py("fault.slow.descent_time_limit", slow, expect="ok", timeout=60,
       check=lambda v: (str(v[0].termination) == "time_limit" and v[0].feasible and v[1] < 4.0,
                        f"{v[0].termination} after {v[1]:.1f} s"))
    py("fault.slow.qcgd_time_limit", lambda t: slow(t, "qcgd"), expect="ok", timeout=60,
       check=lambda v: (str(v[0].termination) == "time_limit" and v[1] < 5.0, f"{v[0].termination} after {v[1]:.1f} s"))

    def sig_inside(tmp, method="ising-descent"):
        """SIGINT raised from inside the oracle after 2 calls: best-so-far point, termination interrupted."""
        from solvers import solve
        calls = []

        class Interrupting(Oracle):
            name = "interrupting"

            def _sample_spins(self, ising, num_reads, rng, **kw):
                calls.append(1)
                if len(calls) == 3:
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(0.5)
                return rng.choice(np.array([-1, 1], np.int8), size=(num_reads, ising.n)), {}
        prob, _ = _tiny_problem()
        opts = {"lambdas": tuple(float(v) for v in range(1, 40))} if method == "penalty" else {"iterations": 50}
        return solve(prob, method, oracle=Interrupting(), **opts)
    for m in ("ising-descent", "qcgd", "penalty"):
        py(f"fault.sigint.{m}", lambda t, m=m: sig_inside(t, m), expect="ok",
           check=lambda r: (str(r.termination) == "interrupted" and r.x is not None,
                            f"{r.termination}, point {'kept' if r.x is not None else 'lost'}"))


# ------------------------------------------------------------------------------- proc scenarios
PY = sys.executable


def _start(argv, cwd, **kw):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    # a battery started in the background (nohup, &) inherits SIGINT = ignored; a user's shell does not
    return subprocess.Popen([PY, "-m", "qcbo_qnn.cli", *argv], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kw)


def _wait_for(p, pattern, timeout):
    """Read stderr lines until one matches (the CLI prints a start line to stderr)."""
    t0 = time.perf_counter()
    import select
    buf = ""
    while time.perf_counter() - t0 < timeout:
        r, _, _ = select.select([p.stderr], [], [], 0.2)
        if r:
            line = p.stderr.readline()
            buf += line
            if re.search(pattern, line):
                return buf
        if p.poll() is not None:
            break
    return buf


def sigint_train(tmp: Path, delay=3.0, extra=()):
    argv = ["train", "--n-train", "2000", "--descent-iterations", "100000", "--descent-stop-after", "1000",
            "--descent-patience", "1000", "--report", str(tmp / "r.json"), "--model", str(tmp / "m.json"),
            "--plots", str(tmp / "plots"), *extra]
    p = _start(argv, REPO)
    _wait_for(p, r"qcbo-qnn train:", 60)
    # the solve has started once train says so (newer versions); otherwise wait for data and build
    seen = _wait_for(p, r"solving", 15.0)
    time.sleep(delay if re.search("solving", seen) else 0.0)
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        return "D", "train did not end within 60 s of SIGINT"
    if "Traceback" in err:
        return "B", "traceback: " + _last_line(err)
    if p.returncode != 130:
        return "C", f"exit {p.returncode} after SIGINT (wanted 130): {_last_line(err)}"
    if not (tmp / "r.json").exists():
        return "C", "exit 130 but no report written"
    rep = strict_json(tmp / "r.json")
    ok = rep.get("termination") == "interrupted" and (tmp / "m.json").exists() and (tmp / "plots").is_dir()
    return ("A" if ok else "C"), f"exit 130, termination {rep.get('termination')}, model {(tmp / 'm.json').exists()}"


def sigint_early(tmp: Path):
    """SIGINT during data loading / build: a clean message and exit 130, no traceback."""
    p = _start(["train", "--n-train", "2000", "--hidden", "64", "--report", str(tmp / "r.json")], REPO)
    _wait_for(p, r"qcbo-qnn train:", 60)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    if "Traceback" in err:
        return "B", "traceback: " + _last_line(err)
    return ("A" if p.returncode == 130 else "C"), f"exit {p.returncode}: {_last_line(err)}"


def sigint_solve(tmp: Path):
    p = _start(["solve", "--solver", "ising-descent", "--n-train", "2000", "--descent-iterations", "100000",
                "--descent-stop-after", "1000", "--descent-patience", "1000", "--report", str(tmp / "r.json")], REPO)
    time.sleep(20)
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        return "D", "solve did not end after SIGINT"
    if "Traceback" in err:
        return "B", "traceback: " + _last_line(err)
    if p.returncode != 130 or not (tmp / "r.json").exists():
        return "C", f"exit {p.returncode}, report {(tmp / 'r.json').exists()}"
    rep = strict_json(tmp / "r.json")
    return ("A" if rep["termination"] == "interrupted" else "C"), f"exit 130, {rep['termination']}"


def sigint_ising(tmp: Path):
    # 4000 reads of 20000 sweeps: about a minute of sampling; SIGINT 1 s after the oracle line (sampling began)
    p = _start(["ising", "--instance", MC100, "--maxcut", "--oracle", "sa", "--reads", "4000", "--steps", "20000",
                "--report", str(tmp / "r.json")], REPO)
    for _ in range(20):                    # blocking reads: the lines come right after start-up
        line = p.stdout.readline()
        if not line or "oracle" in line:
            break
    time.sleep(1)
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        return "D", "ising did not end after SIGINT"
    if "Traceback" in err:
        return "B", "traceback: " + _last_line(err)
    return ("A" if p.returncode == 130 else "C"), f"exit {p.returncode}: {_last_line(err)}"


def sigint_startup(tmp: Path):
    """Ctrl-C while the command line is still importing the library (the first seconds)."""
    rows = []
    for delay in (0.5, 1.0, 1.5, 2.0):
        p = _start(["ising", "--instance", MC100, "--maxcut", "--oracle", "sa", "--reads", "400", "--steps", "20000"],
                   REPO)
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            return "D", f"ising did not end after SIGINT at {delay} s"
        if "Traceback" in err:
            return "B", f"SIGINT at {delay} s: traceback: " + _last_line(err)
        if p.returncode != 130:
            return "C", f"SIGINT at {delay} s: exit {p.returncode}"
        rows.append(delay)
    return "A", f"exit 130 for SIGINT at {rows} s: {_last_line(err)}"


def time_limit_train(tmp: Path):
    t0 = time.perf_counter()
    p = _start(["train", "--n-train", "2000", "--descent-iterations", "100000", "--descent-stop-after", "1000",
                "--descent-patience", "1000", "--time-limit", "2", "--report", str(tmp / "r.json")], REPO)
    out, err = p.communicate(timeout=120)
    if "Traceback" in err:
        return "B", "traceback: " + _last_line(err)
    rep = strict_json(tmp / "r.json") if (tmp / "r.json").exists() else {}
    solve_s = rep.get("solve_time_s", 1e9)
    ok = p.returncode == 0 and rep.get("termination") == "time_limit" and solve_s < 4.0
    return ("A" if ok else "C"), f"exit {p.returncode}, {rep.get('termination')}, solve {solve_s:.1f} s " \
                                 f"(limit 2), total {time.perf_counter() - t0:.1f} s"


def time_limit_ising_cim(tmp: Path):
    t0 = time.perf_counter()
    p = _start(["ising", "--instance", MC100, "--maxcut", "--oracle", "cim", "--reads", "64", "--steps", "10000000",
                "--time-limit", "2"], REPO)
    out, err = p.communicate(timeout=120)
    dt = time.perf_counter() - t0
    if "Traceback" in err:
        return "B", "traceback: " + _last_line(err)
    return ("A" if p.returncode == 0 and dt < 15 else "C"), f"exit {p.returncode} after {dt:.1f} s (limit 2)"


def define_proc_cases():
    proc("sigint.train.during_solve", sigint_train, timeout=150)
    proc("sigint.train.during_build", sigint_early, timeout=150)
    proc("sigint.solve.during_solve", sigint_solve, timeout=150)
    proc("sigint.ising.during_sampling", sigint_ising, timeout=150)
    proc("sigint.ising.during_startup", sigint_startup, timeout=300)
    proc("time_limit.train", time_limit_train, timeout=150)
    proc("time_limit.ising_cim", time_limit_ising_cim, timeout=150)


# ------------------------------------------------------------------------------------------ main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=None, help="run cases whose id contains this text")
    ap.add_argument("--label", default=None, help="write bench/results/reliability_<label>.json")
    ap.add_argument("--mem", type=float, default=4.0, help="address-space limit per case (GB)")
    ap.add_argument("--no-proc", action="store_true", help="skip the subprocess scenarios (SIGINT, timing)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    # warm the dataset cache before forking (children share it)
    from qcbo_model.data import load_raw
    for name in ("fashion-mnist", "mnist"):
        for split in ("train", "test"):
            load_raw(name, split, download=False)
    import qcbo_qnn.cli  # noqa: F401
    import solvers.ising.cim  # noqa: F401
    import solvers.ising.sa  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import pyomo.environ  # noqa: F401
    make_fixtures()
    model_report = make_model()
    idx_dirs, fashion_dir = make_idx()
    define_cases(model_report, idx_dirs, fashion_dir)
    cases = [c for c in CASES if (args.only is None or args.only in c.id) and not (args.no_proc and c.kind == "proc")]
    ids = [c.id for c in CASES]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise SystemExit(f"duplicate case ids: {sorted(dup)}")
    rows = []
    for c in cases:
        r = run_case(c, int(args.mem * 2 ** 30))
        r["kind"], r["expect"] = c.kind, c.expect
        rows.append(r)
        print(f"{r['outcome']}  {r['seconds']:6.1f}s  {c.id:42} {r['detail'][:150]}", flush=True)
    counts = {k: sum(r["outcome"] == k for r in rows) for k in "ABCD"}
    print(f"\n{len(rows)} cases: A {counts['A']}  B {counts['B']}  C {counts['C']}  D {counts['D']}  "
          f"({time.perf_counter() - t0:.0f} s)")
    if args.label:
        out = REPO / "bench" / "results" / f"reliability_{args.label}.json"
        for r in rows:        # no machine paths in the stored results
            r["detail"] = _scrub(r["detail"])
        out.parent.mkdir(exist_ok=True)
        import subprocess as _sp
        commit = _sp.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
        out.write_text(json.dumps({"label": args.label, "commit": commit, "n_cases": len(rows), "counts": counts,
                                   "cases": rows}, indent=1) + "\n")
        print(f"wrote {out}")
    shutil.rmtree(FIXTURES, ignore_errors=True)


if __name__ == "__main__":
    main()
