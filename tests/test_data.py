import gzip
from pathlib import Path

import numpy as np
import pytest

from qcbo_model import data
from qcbo_model.data import (DataError, avg_pool, balanced_subset, find_dataset_dir,
                             load_dataset, load_raw, one_vs_rest, read_idx_images,
                             read_idx_labels)

# The byte-exact copies live in shared/datasets beside the repository root.
_ROOTS = [data.SHARED_ROOT]
SHARED = next((r for r in _ROOTS if (r / "fashion-mnist").is_dir()), None)
WHERE = (f"put the official IDX files in {data.SHARED_ROOT}/<name>/ (shared/datasets beside the repository) "
         "to run it")
needs_fashion = pytest.mark.skipif(SHARED is None, reason=f"byte-exact Fashion-MNIST absent; {WHERE}")


def write_idx(path, arr, magic, compress=True):
    arr = np.asarray(arr, dtype=np.uint8)
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    blob = header + arr.tobytes()
    path.write_bytes(gzip.compress(blob) if compress else blob)


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No env var, no system/shared folders, cache inside tmp_path."""
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(data, "SYSTEM_DIRS", {"fashion-mnist": tmp_path / "nosys"})
    monkeypatch.setattr(data, "SHARED_ROOT", tmp_path / "noshared")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


# ------------------------------------------------------------------ real data

@needs_fashion
def test_load_raw_explicit_dir_and_checksums():
    d = SHARED / "fashion-mnist"
    Xtr, ytr = load_raw("fashion-mnist", "train", data_dir=d, download=False)
    Xte, yte = load_raw("fashion-mnist", "test", data_dir=d, download=False)
    assert Xtr.shape == (60000, 28, 28) and ytr.shape == (60000,)
    assert Xte.shape == (10000, 28, 28) and yte.shape == (10000,)
    assert Xtr.dtype == np.uint8 and ytr.dtype == np.uint8
    assert np.bincount(ytr).tolist() == [6000] * 10
    import hashlib
    assert (hashlib.sha256(Xte.tobytes()).hexdigest()
            == data.EXPECTED_SHA256["fashion-mnist"]["test"]["images"])


@needs_fashion
def test_env_var_parent_dir(isolated, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(SHARED))  # parent holding fashion-mnist/
    assert find_dataset_dir("fashion-mnist", download=False) == SHARED / "fashion-mnist"
    X, y = load_raw("fashion-mnist", "test", download=False)
    assert X.shape == (10000, 28, 28)
    monkeypatch.setenv(data.ENV_VAR, str(SHARED / "fashion-mnist"))  # the folder itself
    assert find_dataset_dir("fashion-mnist", download=False) == SHARED / "fashion-mnist"


@needs_fashion
def test_checksum_mismatch(monkeypatch):
    bad = {"fashion-mnist": {"test": {"images": "0" * 64, "labels": "0" * 64}}}
    monkeypatch.setattr(data, "EXPECTED_SHA256", bad)
    data._load_split.cache_clear()
    with pytest.raises(DataError, match="sha256"):
        load_raw("fashion-mnist", "test", data_dir=SHARED / "fashion-mnist")
    data._load_split.cache_clear()


@needs_fashion
def test_load_dataset_balanced_and_reproducible():
    kw = dict(classes=(0, 1), n_train=32, data_dir=SHARED / "fashion-mnist", download=False)
    a, b, c = (load_dataset(seed=s, **kw) for s in (0, 0, 1))
    assert a.X_train.shape == (32, 49) and a.feature_shape == (7, 7)
    assert a.X_train.dtype == np.float64 and 0 <= a.X_train.min() <= a.X_train.max() <= 1
    assert sorted(np.unique(a.y_train)) == [-1, 1]
    assert (a.y_train == -1).sum() == (a.y_train == 1).sum() == 16
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.X_train, c.X_train)
    assert a.X_test.shape == (2000, 49) and (a.y_test == -1).sum() == 1000
    assert a.label_names == ("T-shirt/top", "Trouser")


@needs_fashion
def test_multiclass_remainder_and_n_test():
    ds = load_dataset(classes=(9, 3, 5), n_train=10, n_test=50, pool=7, seed=3,
                      data_dir=SHARED / "fashion-mnist", download=False)
    # remainder goes to the first listed class; targets are indices in listed order
    assert np.bincount(ds.y_train, minlength=3).tolist() == [4, 3, 3]
    assert ds.X_train.shape == (10, 16) and ds.X_test.shape == (50, 16)
    assert ds.label_names == ("Ankle boot", "Dress", "Sandal")
    assert one_vs_rest(ds.y_train, 3).shape == (10, 3)


@needs_fashion
def test_n_train_too_large_says_available():
    with pytest.raises(DataError, match="only 6000 are available"):
        load_dataset(classes=(0, 1), n_train=12002, data_dir=SHARED / "fashion-mnist")


# ------------------------------------------------------------------- synthetic

def test_avg_pool_hand_checked():
    img = np.zeros((1, 28, 28), dtype=np.uint8)
    img[0, 0:4, 0:4] = 255          # full top-left block -> 1.0
    img[0, 4, 4] = 255              # one pixel of block (1, 1) -> 1/16
    out = avg_pool(img, 4)
    assert out.shape == (1, 49) and out.dtype == np.float64
    assert out[0, 0] == 1.0 and out[0, 1 * 7 + 1] == pytest.approx(1 / 16)
    assert out.sum() == pytest.approx(1 + 1 / 16)
    assert avg_pool(img, 1).shape == (1, 784) and avg_pool(img, 28).shape == (1, 1)


@pytest.mark.parametrize("pool", [0, 3, 5, 29, 2.0])
def test_avg_pool_invalid(pool):
    with pytest.raises(DataError, match="pool"):
        avg_pool(np.zeros((2, 28, 28), dtype=np.uint8), pool)


def test_balanced_subset_seeded():
    labels = np.repeat(np.arange(3), 20)
    a = balanced_subset(labels, (0, 2), 10, seed=5)
    assert np.bincount(labels[a], minlength=3).tolist() == [5, 0, 5]
    assert len(set(a)) == 10
    assert np.array_equal(a, balanced_subset(labels, (0, 2), 10, seed=5))
    assert not np.array_equal(a, balanced_subset(labels, (0, 2), 10, seed=6))
    rng = np.random.default_rng(0)  # a Generator is accepted too
    assert len(balanced_subset(labels, (0, 1), 4, seed=rng)) == 4
    with pytest.raises(DataError, match="only 20 are available"):
        balanced_subset(labels, (0, 1), 42)


def test_one_vs_rest():
    out = one_vs_rest([0, 2, 1], 3)
    assert out.tolist() == [[1, -1, -1], [-1, -1, 1], [-1, 1, -1]]


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="cifar"), "unknown dataset"),
    (dict(classes=(0, 10)), "0..9"),
    (dict(classes=(-1, 2)), "0..9"),
    (dict(classes=(3,)), "at least 2"),
    (dict(classes=(3, 3)), "duplicate"),
    (dict(classes=(0, 1, 2), n_train=2), "smaller than the number of classes"),
])
def test_argument_errors(kwargs, match):
    with pytest.raises(DataError, match=match):
        load_dataset(**kwargs)


def test_idx_roundtrip_and_bad_magic(tmp_path):
    imgs = np.arange(2 * 28 * 28, dtype=np.uint64).reshape(2, 28, 28) % 256
    write_idx(tmp_path / "img.gz", imgs, 2051)
    write_idx(tmp_path / "lbl", [3, 7], 2049, compress=False)
    assert np.array_equal(read_idx_images(tmp_path / "img.gz"), imgs)
    assert read_idx_labels(tmp_path / "lbl").tolist() == [3, 7]
    write_idx(tmp_path / "bad.gz", imgs, 2049)  # labels magic on an image file
    with pytest.raises(DataError, match="magic"):
        read_idx_images(tmp_path / "bad.gz")
    blob = (tmp_path / "lbl").read_bytes()
    (tmp_path / "short").write_bytes(blob[:-1])  # truncated payload
    with pytest.raises(DataError, match="re-download"):
        read_idx_labels(tmp_path / "short")


def test_missing_everywhere_lists_places(isolated, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(isolated / "env"))
    with pytest.raises(DataError) as err:
        find_dataset_dir("fashion-mnist", download=False)
    msg = str(err.value)
    for place in ("env", "nosys", "noshared", "cache"):
        assert place in msg
    with pytest.raises(DataError, match="does not contain"):
        find_dataset_dir("mnist", data_dir=isolated)


def test_download_with_patched_fetch(isolated, monkeypatch):
    fetched = []
    rng = np.random.default_rng(0)

    def fake_fetch(url, dest):
        fetched.append(url)
        n = 6 if "train" in url else 4
        if "images" in url:
            write_idx(dest, rng.integers(0, 256, (n, 28, 28)), 2051)
        else:
            write_idx(dest, np.arange(n) % 2, 2049)

    monkeypatch.setattr(data, "_fetch", fake_fetch)
    d = find_dataset_dir("mnist")
    assert d == isolated / "cache" / "qcbo-qnn" / "mnist"
    assert len(fetched) == 4 and all(u.startswith(data.URLS["mnist"]) for u in fetched)
    X, y = load_raw("mnist", "train", verify=False)
    assert X.shape == (6, 28, 28) and y.tolist() == [0, 1, 0, 1, 0, 1]
    with pytest.raises(DataError, match="sha256"):  # synthetic != official
        load_raw("mnist", "test")
    find_dataset_dir("mnist")  # cached now: no second download
    assert len(fetched) == 4


def test_download_failure_is_actionable(isolated, monkeypatch):
    def offline(url, dest):
        raise OSError("network unreachable")

    monkeypatch.setattr(data, "_fetch", offline)
    with pytest.raises(DataError, match="QCBO_DATA_DIR"):
        find_dataset_dir("fashion-mnist")


def test_digits():
    pytest.importorskip("sklearn")
    ds = load_dataset("digits", classes=(3, 8), n_train=20, pool=2, seed=0)
    assert ds.X_train.shape == (20, 16) and ds.feature_shape == (4, 4)
    assert 0 <= ds.X_test.min() and ds.X_test.max() <= 1
    assert abs(len(ds.y_test) - 0.3 * (183 + 174)) < 3
    with pytest.raises(DataError, match="pool"):
        load_dataset("digits", pool=3)


def test_digits_without_sklearn(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_sklearn(name, *a, **k):
        if name.startswith("sklearn"):
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(DataError, match=r'pip install scikit-learn'):
        load_dataset("digits")


def test_real_fetch_is_atomic(tmp_path):
    # urllib also serves file:// URLs, which exercises the real _fetch offline.
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 3_000_000)
    data._fetch(src.as_uri(), tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == src.read_bytes()
    with pytest.raises(OSError):
        data._fetch((tmp_path / "missing").as_uri(), tmp_path / "never.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin", "src.bin"]


@pytest.mark.skipif(SHARED is None or not (SHARED / "mnist").is_dir(),
                    reason=f"byte-exact MNIST absent; {WHERE}")
def test_mnist_checksums():
    X, y = load_raw("mnist", "test", data_dir=SHARED / "mnist", download=False)
    assert X.shape == (10000, 28, 28) and y.max() == 9
