"""``qcbo-qnn predict``: evaluate a saved model on the official test split of its dataset."""
from __future__ import annotations

import json
from pathlib import Path

from qcbo_model.network import ModelFileError, QuantizedNetwork

from ..io import check_writable, write_json
from qcbo_model.data import DATASETS

from .common import int_list, nonneg_int, positive_int, print_table


def register(subparsers) -> None:
    pr = subparsers.add_parser("predict", help="evaluate a saved model on a test split")
    pr.add_argument("--model", required=True, help="model file written by qcbo-qnn train --model (format "
                                                   "qcbo-qnn-model/1)")
    pr.add_argument("--dataset", default=None, choices=list(DATASETS),
                    help="default: the model's training dataset (another one is refused)")
    pr.add_argument("--data-dir", default=None)
    pr.add_argument("--classes", type=int_list, default=None,
                    help="comma list (default: the model's; other classes are refused)")
    pr.add_argument("--n-test", type=positive_int, default=None)
    pr.add_argument("--seed", type=nonneg_int, default=0)
    pr.add_argument("--report", default=None)
    pr.set_defaults(func=cmd_predict)


def load_model(path) -> QuantizedNetwork:
    """Read and fully check a model file (``QuantizedNetwork.from_dict``): ModelFileError otherwise."""
    p = Path(path)
    if p.is_dir():
        raise ModelFileError(f"model file {str(p)!r} is a folder; pass the JSON file written by "
                             "`qcbo-qnn train --model FILE`")
    if not p.is_file():
        raise ModelFileError(f"model file {str(p)!r} does not exist; write one with `qcbo-qnn train --model FILE`")
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFileError(f"model file {str(p)!r} is not valid JSON: {e}") from None
    except RecursionError:
        raise ModelFileError(f"model file {str(p)!r} is nested too deeply to be a qcbo-qnn model") from None
    return QuantizedNetwork.from_dict(d)


def cmd_predict(args) -> int:
    from qcbo_model.data import load_dataset, one_vs_rest
    if args.report:
        check_writable(args.report)
    m = load_model(args.model)
    trained_on = m.meta.get("dataset")
    if args.dataset and trained_on and args.dataset != trained_on:
        raise ModelFileError(f"the model was trained on {trained_on}; --dataset {args.dataset} would score it on "
                             "images it was not trained for (leave --dataset out)")
    name = args.dataset or trained_on or "fashion-mnist"
    model_classes = m.meta.get("classes")
    classes = tuple(args.classes) if args.classes else tuple(model_classes or (0, 1))
    if args.classes and model_classes and list(classes) != list(model_classes):
        raise ModelFileError(f"the model was trained on classes {list(model_classes)}; --classes "
                             f"{','.join(map(str, classes))} would score it on other labels (leave --classes out)")
    n_out = 1 if len(classes) <= 2 else len(classes)
    if n_out != m.spec.output_dim:
        raise ModelFileError(f"the model has {m.spec.output_dim} output(s); {len(classes)} classes need {n_out}")
    pool = m.meta.get("pool", 4)
    ds = load_dataset(name, classes=classes, n_train=len(classes), n_test=args.n_test,
                      pool=pool, seed=args.seed, data_dir=args.data_dir)
    if ds.X_test.shape[1] != m.spec.input_dim:
        raise ModelFileError(f"the model takes {m.spec.input_dim} features, {name} with pool "
                             f"{pool} gives {ds.X_test.shape[1]}")
    y = ds.y_test if len(classes) <= 2 else one_vs_rest(ds.y_test, len(classes))
    rep = {"model": str(args.model), "dataset": name, "classes": list(classes), "n_test": int(len(ds.X_test)),
           "test_accuracy": m.accuracy(ds.X_test, y), "test_accuracy_fip": m.accuracy(ds.X_test, y, exact=False)}
    print_table(rep.items(), width=18)
    if args.report:
        write_json(args.report, rep)
    return 0
