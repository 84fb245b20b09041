"""``qcbo-qnn predict``: evaluate a saved model on the official test split of its dataset."""
from __future__ import annotations

import json
from pathlib import Path

from qcbo_model.network import ModelFileError, QuantizedNetwork

from ..io import check_writable, write_json
from .common import int_list, nonneg_int, print_table


def register(subparsers) -> None:
    pr = subparsers.add_parser("predict", help="evaluate a saved model on a test split")
    pr.add_argument("--model", required=True)
    pr.add_argument("--dataset", default=None, help="default: the model's training dataset")
    pr.add_argument("--data-dir", default=None)
    pr.add_argument("--classes", type=int_list, default=None, help="comma list (default: the model's)")
    pr.add_argument("--n-test", type=int, default=None)
    pr.add_argument("--seed", type=nonneg_int, default=0)
    pr.add_argument("--report", default=None)
    pr.set_defaults(func=cmd_predict)


def load_model(path) -> QuantizedNetwork:
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"model file {str(p)!r} does not exist; write one with `qcbo-qnn train --model FILE`")
    try:
        d = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFileError(f"model file {str(p)!r} is not valid JSON: {e}") from None
    return QuantizedNetwork.from_dict(d)


def cmd_predict(args) -> int:
    from qcbo_model.data import load_dataset, one_vs_rest
    if args.report:
        check_writable(args.report)
    m = load_model(args.model)
    name = args.dataset or m.meta.get("dataset", "fashion-mnist")
    classes = tuple(args.classes) if args.classes else tuple(m.meta.get("classes", (0, 1)))
    n_out = 1 if len(classes) <= 2 else len(classes)
    if n_out != m.spec.output_dim:
        raise ModelFileError(f"the model has {m.spec.output_dim} output(s); {len(classes)} classes need {n_out}")
    ds = load_dataset(name, classes=classes, n_train=len(classes), n_test=args.n_test,
                      pool=int(m.meta.get("pool", 4)), seed=args.seed, data_dir=args.data_dir)
    if ds.X_test.shape[1] != m.spec.input_dim:
        raise ModelFileError(f"the model takes {m.spec.input_dim} features, {name} with pool "
                             f"{m.meta.get('pool', 4)} gives {ds.X_test.shape[1]}")
    y = ds.y_test if len(classes) <= 2 else one_vs_rest(ds.y_test, len(classes))
    rep = {"model": str(args.model), "dataset": name, "classes": list(classes), "n_test": int(len(ds.X_test)),
           "test_accuracy": m.accuracy(ds.X_test, y), "test_accuracy_fip": m.accuracy(ds.X_test, y, exact=False)}
    print_table(rep.items(), width=18)
    if args.report:
        write_json(args.report, rep)
    return 0
