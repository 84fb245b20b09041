"""Datasets for qcbo-qnn: IDX readers, dataset location/download, preprocessing.

Typical use::

    ds = load_dataset("fashion-mnist", classes=(0, 1), n_train=32, pool=4, seed=0)
    ds.X_train.shape  # (32, 49), float64 in [0, 1]
    ds.y_train        # int64 in {-1, +1}: classes[0] -> -1, classes[1] -> +1

Every failure at this boundary (missing files, corrupt IDX, bad arguments) raises
:class:`DataError`, a ``ValueError`` whose message says what to do about it.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from .errors import QCBOError

__all__ = [
    "DataError", "Dataset", "DATASETS", "EXPECTED_SHA256", "FASHION_MNIST_LABELS",
    "read_idx_images", "read_idx_labels", "find_dataset_dir", "download_dataset",
    "load_raw", "avg_pool", "one_vs_rest", "balanced_subset", "load_dataset",
]


class DataError(QCBOError):
    """Dataset missing, corrupt, or requested with invalid arguments."""


IDX_DATASETS = ("fashion-mnist", "mnist")
DATASETS = IDX_DATASETS + ("digits",)
IMAGE_SIDE = {"fashion-mnist": 28, "mnist": 28, "digits": 8}
SPLITS = ("train", "test")
ENV_VAR = "QCBO_DATA_DIR"

# split -> (images stem, labels stem); files may also carry a ".gz" suffix.
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
URLS = {
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
}
# Debian package `dataset-fashion-mnist` installs here (fashion-mnist only).
SYSTEM_DIRS = {"fashion-mnist": Path("/usr/share/datasets/fashion-mnist")}
# `shared/` lives beside the repository root (the folder holding setup.cfg).
SHARED_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"

# sha256 of the DECODED uint8 arrays (C order, no header): gzip bytes differ between
# upstream and Debian, the pixels do not.  Computed from the byte-exact official files.
EXPECTED_SHA256 = {
    "fashion-mnist": {
        "train": {"images": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
                  "labels": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7"},
        "test": {"images": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
                 "labels": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9"},
    },
    "mnist": {
        "train": {"images": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
                  "labels": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"},
        "test": {"images": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
                 "labels": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"},
    },
}

FASHION_MNIST_LABELS = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
LABEL_NAMES = {
    "fashion-mnist": FASHION_MNIST_LABELS,
    "mnist": tuple(str(d) for d in range(10)),
    "digits": tuple(str(d) for d in range(10)),
}

# digits has no official split: a fixed stratified 30 % test split, independent of `seed`
# so that every experiment is evaluated on the same held-out images.
DIGITS_TEST_FRACTION = 0.3
DIGITS_SPLIT_SEED = 20240101

IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049


# --------------------------------------------------------------------------- IDX

def _read_bytes(path: Path) -> bytes:
    """File contents, gunzipped when the gzip magic is present (whatever the suffix)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except FileNotFoundError:
        raise DataError(f"IDX file not found: {path}") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read {path}: {exc}; delete it and re-download") from exc


def _read_idx(path, magic: int, ndim: int) -> np.ndarray:
    path = Path(path)
    data = _read_bytes(path)
    header = 4 * (1 + ndim)
    if len(data) < header:
        raise DataError(f"{path}: {len(data)} bytes is shorter than the {header}-byte IDX "
                        f"header; the file is truncated, re-download it")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        kind = "images" if magic == IMAGES_MAGIC else "labels"
        raise DataError(f"{path}: bad IDX magic number {found} (expected {magic} for "
                        f"{kind}); wrong or corrupted file, re-download it")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        raise DataError(f"{path}: header promises shape {dims} ({expected} bytes) but the "
                        f"file decodes to {len(data)} bytes; re-download it")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def read_idx_images(path) -> np.ndarray:
    """Read an IDX3 image file (magic 2051), raw or gzip'd -> uint8 (n, rows, cols)."""
    return _read_idx(path, IMAGES_MAGIC, 3)


def read_idx_labels(path) -> np.ndarray:
    """Read an IDX1 label file (magic 2049), raw or gzip'd -> uint8 (n,)."""
    return _read_idx(path, LABELS_MAGIC, 1)


# ----------------------------------------------------------------------- locating

def _check_name(name: str, allowed=IDX_DATASETS) -> None:
    if name not in allowed:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(allowed)}")


def _find_file(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    return None


def _has_all(directory: Path) -> bool:
    return all(_find_file(directory, s) is not None for pair in FILES.values() for s in pair)


def _resolve(directory: Path, name: str) -> Path | None:
    """`directory` itself or its `name/` subfolder, whichever holds all four files."""
    for d in (directory, directory / name):
        if _has_all(d):
            return d
    return None


def _cache_dir(name: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "qcbo-qnn" / name


def _fetch(url: str, dest: Path, timeout: float = 60.0) -> None:
    """Download `url` to `dest` atomically (temp file in the same dir, then rename),
    so an interrupted download never leaves a plausible-looking partial file."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as r:
            while chunk := r.read(1 << 20):
                out.write(chunk)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def download_dataset(name: str, dest=None) -> Path:
    """Download the four official IDX files of `name` into `dest` (default: the user
    cache) and check that each one parses; returns the directory."""
    _check_name(name)
    dest = Path(dest) if dest is not None else _cache_dir(name)
    dest.mkdir(parents=True, exist_ok=True)
    for split, (img_stem, lbl_stem) in FILES.items():
        for stem, reader in ((img_stem, read_idx_images), (lbl_stem, read_idx_labels)):
            if _find_file(dest, stem) is not None:
                continue
            target, url = dest / f"{stem}.gz", URLS[name] + f"{stem}.gz"
            try:
                _fetch(url, target)
            except (urllib.error.URLError, OSError) as exc:
                raise DataError(
                    f"could not download {url} ({exc}). Without network, put the four "
                    f"{name} IDX files in a folder and pass data_dir=... or set "
                    f"{ENV_VAR}") from exc
            try:
                reader(target)
            except DataError:
                target.unlink(missing_ok=True)  # don't let a bad download shadow a retry
                raise
    return dest


def find_dataset_dir(name: str, data_dir=None, download: bool = True) -> Path:
    """Directory holding the four IDX files of `name` ("fashion-mnist" or "mnist").

    Look-up order: `data_dir` (error if it lacks the files); $QCBO_DATA_DIR (the folder
    itself or its `name/` subfolder); /usr/share/datasets/fashion-mnist (Debian);
    ../shared/datasets/`name` beside the repository root; the user cache
    ($XDG_CACHE_HOME or ~/.cache)/qcbo-qnn/`name`; finally a download into that cache
    unless `download=False`.
    """
    _check_name(name)
    if data_dir is not None:
        found = _resolve(Path(data_dir).expanduser(), name)
        if found is None:
            raise DataError(f"data_dir={str(data_dir)!r} does not contain the four {name} "
                            f"IDX files ({', '.join(s for p in FILES.values() for s in p)}, "
                            f"optionally .gz), neither directly nor in a {name}/ subfolder")
        return found
    candidates = []
    if os.environ.get(ENV_VAR):
        candidates.append((f"${ENV_VAR}", Path(os.environ[ENV_VAR]).expanduser()))
    if name in SYSTEM_DIRS:
        candidates.append(("Debian package dataset-fashion-mnist", SYSTEM_DIRS[name]))
    candidates.append(("shared folder beside the repository", SHARED_ROOT / name))
    candidates.append(("user cache", _cache_dir(name)))
    for _, directory in candidates:
        found = _resolve(directory, name)
        if found is not None:
            return found
    if download:
        return download_dataset(name, _cache_dir(name))
    looked = "\n".join(f"  - {d} ({why})" for why, d in candidates)
    raise DataError(f"{name} not found and download=False. Looked in:\n{looked}\n"
                    f"Pass data_dir=..., set {ENV_VAR}, or allow download=True.")


# ------------------------------------------------------------------------ loading

def _file_key(path: Path):
    st = path.stat()
    return str(path.resolve()), st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=4)
def _load_split(name, split, img_key, lbl_key, verify):
    # Cached on (path, mtime, size) so seed sweeps don't re-gunzip 47 MB each time;
    # arrays are read-only so a caller cannot corrupt the cache.
    images, labels = read_idx_images(img_key[0]), read_idx_labels(lbl_key[0])
    if len(images) != len(labels):
        raise DataError(f"{name}/{split}: {len(images)} images but {len(labels)} labels")
    if images.shape[1:] != (28, 28):
        raise DataError(f"{name}/{split}: images are {images.shape[1:]}, expected (28, 28)")
    if verify:
        for kind, arr in (("images", images), ("labels", labels)):
            digest = hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()
            if digest != EXPECTED_SHA256[name][split][kind]:
                other = [o for o in EXPECTED_SHA256 if o != name and EXPECTED_SHA256[o][split][kind] == digest]
                if other:
                    raise DataError(f"the files in {Path(img_key[0]).parent} are the official {other[0]} "
                                    f"files, not {name}: ask for --dataset {other[0]} (dataset={other[0]!r}), "
                                    f"or point --data-dir at a folder with the {name} files")
                raise DataError(f"{name}/{split} {kind}: sha256 of decoded data is {digest}, "
                                f"expected {EXPECTED_SHA256[name][split][kind]}; the files in "
                                f"{Path(img_key[0]).parent} are not the official ones "
                                f"(re-download, or pass verify=False)")
    return images, labels


def load_raw(name: str, split: str, data_dir=None, download: bool = True,
             verify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Official `split` ("train"/"test") of an IDX dataset -> (uint8 (n, 28, 28),
    uint8 (n,)). Arrays are read-only (shared by an in-process cache)."""
    _check_name(name)
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose 'train' or 'test'")
    directory = find_dataset_dir(name, data_dir, download)
    paths = [_find_file(directory, stem) for stem in FILES[split]]
    if None in paths:
        raise DataError(f"{directory} lacks {split} files {FILES[split]}")
    return _load_split(name, split, _file_key(paths[0]), _file_key(paths[1]), verify)


# ------------------------------------------------------------------ preprocessing

def avg_pool(images: np.ndarray, pool: int = 4, max_value: float = 255.0) -> np.ndarray:
    """Non-overlapping pool x pool average pooling of square images (n, s, s) ->
    float64 (n, (s // pool) ** 2) in [0, 1] (divided by `max_value`)."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise DataError(f"avg_pool expects square images (n, s, s), got {images.shape}")
    side = images.shape[1]
    valid = [p for p in range(1, side + 1) if side % p == 0]
    if isinstance(pool, bool) or not isinstance(pool, (int, np.integer)) or pool not in valid:
        raise DataError(f"pool={pool!r} must divide the image side {side}; "
                        f"valid values: {valid}")
    n, k = images.shape[0], side // pool
    pooled = images.reshape(n, k, pool, k, pool).mean(axis=(2, 4), dtype=np.float64)
    return (pooled / max_value).reshape(n, k * k)


def one_vs_rest(y_idx, n_classes: int) -> np.ndarray:
    """Class indices (n,) in 0..C-1 -> (n, C) int64 targets: +1 for the class, -1 else."""
    y_idx = np.asarray(y_idx)
    if y_idx.size and (y_idx.min() < 0 or y_idx.max() >= n_classes):
        raise DataError(f"class indices must lie in 0..{n_classes - 1}")
    out = -np.ones((y_idx.shape[0], n_classes), dtype=np.int64)
    out[np.arange(y_idx.shape[0]), y_idx] = 1
    return out


def balanced_subset(labels, classes, n: int, seed=0) -> np.ndarray:
    """Indices of `n` samples drawn without replacement, n // C per class; the
    remainder n % C goes one each to the first classes in the listed order.
    Returned in a seeded random order (classes interleaved)."""
    rng = np.random.default_rng(seed)
    labels, C = np.asarray(labels), len(classes)
    picks = []
    for i, c in enumerate(classes):
        want = n // C + (1 if i < n % C else 0)
        pool_idx = np.flatnonzero(labels == c)
        if want > len(pool_idx):
            raise DataError(f"n_train={n} needs {want} samples of class {c} but only "
                            f"{len(pool_idx)} are available (at most "
                            f"{min(np.sum(labels == k) for k in classes) * C} for a balanced "
                            f"set of these classes)")
        picks.append(rng.choice(pool_idx, size=want, replace=False))
    return rng.permutation(np.concatenate(picks))


def _targets(raw_labels, classes) -> np.ndarray:
    """Binary: classes[0] -> -1, classes[1] -> +1. Otherwise class index 0..C-1."""
    idx = np.empty(len(raw_labels), dtype=np.int64)
    for i, c in enumerate(classes):
        idx[raw_labels == c] = i
    return 2 * idx - 1 if len(classes) == 2 else idx


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_seed(seed) -> None:
    if isinstance(seed, np.random.Generator):
        return
    if not _is_int(seed) or seed < 0:
        raise DataError(f"seed must be an integer >= 0 or a numpy Generator, got {seed!r}")


def _validate(name, classes, n_train, n_test) -> tuple[int, ...]:
    _check_name(name, DATASETS)
    if isinstance(classes, (str, bytes)) or not isinstance(classes, (list, tuple, np.ndarray, range)):
        raise DataError(f"classes must be a sequence of integers, got {classes!r}")
    classes = list(np.asarray(classes, dtype=object).ravel()) if isinstance(classes, np.ndarray) else list(classes)
    if not all(_is_int(c) for c in classes):
        raise DataError(f"classes must be a sequence of integers, got {classes!r}")
    classes = tuple(int(c) for c in classes)
    if len(classes) < 2:
        raise DataError(f"need at least 2 classes, got {classes}")
    if len(set(classes)) != len(classes):
        raise DataError(f"duplicate classes in {classes}")
    if any(not 0 <= c <= 9 for c in classes):
        raise DataError(f"classes must lie in 0..9, got {classes}")
    if not _is_int(n_train):
        raise DataError(f"n_train must be an integer, got {n_train!r}")
    if int(n_train) < len(classes):
        raise DataError(f"n_train={n_train} is smaller than the number of classes "
                        f"({len(classes)}); need at least one sample per class")
    if n_test is not None and not _is_int(n_test):
        raise DataError(f"n_test must be an integer or None, got {n_test!r}")
    if n_test is not None and int(n_test) < 1:
        raise DataError(f"n_test must be positive or None, got {n_test}")
    return classes


def _digits_raw():
    """(train_images, train_labels, test_images, test_labels) of sklearn digits, 8x8
    values 0..16, split stratified with DIGITS_TEST_FRACTION / DIGITS_SPLIT_SEED."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError('the "digits" dataset needs scikit-learn: '
                        'pip install scikit-learn') from None
    d = load_digits()
    images, labels = d.images, d.target.astype(np.uint8)
    rng = np.random.default_rng(DIGITS_SPLIT_SEED)
    test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test[idx[: int(round(DIGITS_TEST_FRACTION * len(idx)))]] = True
    return images[~test], labels[~test], images[test], labels[test]


@dataclass
class Dataset:
    """Preprocessed train/test data.

    y is int64: in {-1, +1} for two classes (classes[0] -> -1), otherwise the class
    index 0..C-1 in `classes` order (see :func:`one_vs_rest`). `label_names[i]` names
    `classes[i]`.
    """
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[int, ...]
    name: str
    pool: int
    feature_shape: tuple[int, int]
    label_names: tuple[str, ...]

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]


def load_dataset(name: str = "fashion-mnist", classes=(0, 1), n_train: int = 32,
                 n_test: int | None = None, pool: int = 4, seed=0, data_dir=None,
                 download: bool = True) -> Dataset:
    """Balanced training subset and (full or seeded-subsampled) test set, pooled to [0, 1] features.

    Parameters
    ----------
    name : {"fashion-mnist", "mnist", "digits"}, default "fashion-mnist"
        The data set. ``"digits"`` (scikit-learn, 8x8) uses a fixed stratified 30 % test split
        (``DIGITS_SPLIT_SEED``), so ``pool`` must divide 8.
    classes : sequence of int, default (0, 1)
        The classes, in label order. Two classes give binary labels: ``classes[0] -> -1``,
        ``classes[1] -> +1``; more give the class index ``0..C-1`` (one-vs-rest in the estimator).
    n_train : int, default 32
        Training images, drawn without replacement from the official train split and balanced over
        ``classes`` (``balanced_subset``).
    n_test : int or None
        None (default): every official test image of ``classes``, in file order; else the first
        ``n_test`` after a seeded shuffle.
    pool : int, default 4
        Non-overlapping average pooling; 28x28 images with ``pool=4`` give 7x7 = 49 features.
    seed : int or numpy.random.Generator, default 0
        Seed of the training subset (and of the test shuffle); the same seed gives the same images.
    data_dir : path or None
        Folder with the IDX files; None looks in ``$QCBO_DATA_DIR``, the Debian package
        ``dataset-fashion-mnist``, ``shared/datasets`` beside the repository and the download cache.
    download : bool, default True
        Download the official files into the cache when they are found nowhere else.

    Returns
    -------
    Dataset
        ``X_train``, ``X_test`` float64 ``(n, features)`` in [0, 1]; ``y_train``, ``y_test`` int64;
        ``label_names``, ``feature_shape`` (for plots).

    Raises
    ------
    DataError
        The files are missing (with ``download=False`` or offline), corrupt, or the arguments do not
        fit the data (unknown class, ``pool`` not dividing the image side, too few images).
    """
    classes = _validate(name, classes, n_train, n_test)
    _check_seed(seed)
    if name == "digits":
        tr_img, tr_lbl, te_img, te_lbl = _digits_raw()
        max_value = 16.0
    else:
        tr_img, tr_lbl = load_raw(name, "train", data_dir, download)
        te_img, te_lbl = load_raw(name, "test", data_dir, download)
        max_value = 255.0
    side = tr_img.shape[1]
    avg_pool(tr_img[:0], pool)  # validate pool before any sampling work

    # Independent child seeds: changing n_train must not change the test subset.
    train_seed, test_seed = np.random.default_rng(seed).integers(0, 2**63, size=2)
    tr = balanced_subset(tr_lbl, classes, int(n_train), train_seed)
    te = np.flatnonzero(np.isin(te_lbl, classes))
    if n_test is not None:
        if n_test > len(te):
            raise DataError(f"n_test={n_test} but only {len(te)} test images of classes "
                            f"{classes} are available")
        te = np.random.default_rng(test_seed).permutation(te)[: int(n_test)]

    k = side // pool
    return Dataset(
        X_train=avg_pool(tr_img[tr], pool, max_value), y_train=_targets(tr_lbl[tr], classes),
        X_test=avg_pool(te_img[te], pool, max_value), y_test=_targets(te_lbl[te], classes),
        classes=classes, name=name, pool=pool, feature_shape=(k, k),
        label_names=tuple(LABEL_NAMES[name][c] for c in classes),
    )
