"""ember.vision.datasets: readers against torchvision (golden fixtures), downloads, errors."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import urllib.error
import urllib.request

import numpy as np
import pytest

import ember
from ember.vision import datasets
from ember.vision import transforms as T
from ember.vision.datasets import utils as dutils
from tests.vision.conftest import assert_matches
from tests.vision.fixtures import cases


@pytest.fixture
def no_network(monkeypatch):
    """Every urlopen fails as it does without network access."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.mark.parametrize("cls", [datasets.MNIST, datasets.FashionMNIST, datasets.KMNIST])
@pytest.mark.parametrize("train", [True, False])
def test_mnist_family_matches_torchvision(cls, train, tmp_path, golden, golden_meta):
    root = str(tmp_path)
    cases.write_mnist(root, cls.__name__)
    ds = cls(root, train=train, transform=T.ToTensor())
    key = f"{cls.__name__}_{'train' if train else 'test'}"
    assert_matches(ds.data.numpy(), golden[f"d/{key}/data"], key)
    assert_matches(ds.targets.numpy(), golden[f"d/{key}/targets"], key)
    img, target = ds[0]
    assert_matches(img.numpy(), golden[f"d/{key}/item0"], key)
    meta = golden_meta[key]
    assert repr(ds).replace(root, "<root>") == meta["repr"]
    assert ds.classes == meta["classes"] and ds.class_to_idx == meta["class_to_idx"]
    assert target == meta["target0"] and len(ds) == meta["len"]
    assert ds.data.dtype == ember.uint8 and ds.targets.dtype == ember.int64


@pytest.mark.parametrize("train", [True, False])
def test_cifar10_matches_torchvision(train, tmp_path, golden, golden_meta, monkeypatch):
    root = str(tmp_path)
    md5s = cases.write_cifar10(root)
    for attr in ("train_list", "test_list", "meta"):
        monkeypatch.setattr(datasets.CIFAR10, attr, getattr(datasets.CIFAR10, attr))
    cases.patch_cifar10(datasets.CIFAR10, md5s)
    ds = datasets.CIFAR10(root, train=train, transform=T.ToTensor())
    key = f"CIFAR10_{'train' if train else 'test'}"
    assert_matches(ds.data, golden[f"d/{key}/data"], key)
    assert_matches(ds[0][0].numpy(), golden[f"d/{key}/item0"], key)
    meta = golden_meta[key]
    assert repr(ds).replace(root, "<root>") == meta["repr"]
    assert (
        ds.classes == meta["classes"] and ds.targets == meta["targets"] and len(ds) == meta["len"]
    )
    assert ds.class_to_idx["truck"] == 9


def test_cifar_with_the_real_checksums_reports_missing_files(tmp_path):
    cases.write_cifar10(str(tmp_path))  # our small batches do not have CIFAR's MD5s
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        datasets.CIFAR10(str(tmp_path))
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        datasets.CIFAR100(str(tmp_path), train=False)


def test_image_folder_matches_torchvision(tmp_path, golden, golden_meta):
    from PIL import Image

    folder = tmp_path / "folder"
    arrs = cases.inputs()
    for cls_name, idx in (("cat", 0), ("dog", 1), ("ant", 2)):
        (folder / cls_name).mkdir(parents=True)
        for k in range(2):
            img = cases.make_pil(Image, np.roll(arrs["u8"], idx * 3 + k, axis=2))
            img.save(folder / cls_name / f"img{k}.png")
    (folder / "dog" / "notes.txt").write_text("not an image")
    ds = datasets.ImageFolder(str(folder), transform=T.ToTensor())
    meta = golden_meta["ImageFolder"]
    assert ds.classes == meta["classes"] and ds.class_to_idx == meta["class_to_idx"]
    assert [[os.path.relpath(p, folder), t] for p, t in ds.samples] == meta["samples"]
    assert ds.targets == meta["targets"] and ds.imgs is ds.samples
    assert repr(ds).replace(str(tmp_path), "<root>") == meta["repr"]
    assert_matches(ds[3][0].numpy(), golden["d/ImageFolder/item3"], "ImageFolder")
    assert datasets.folder.is_image_file("a.JPEG") and not datasets.folder.is_image_file("a.txt")
    classes, idx = datasets.folder.find_classes(str(folder))
    assert classes == ["ant", "cat", "dog"] and idx == {"ant": 0, "cat": 1, "dog": 2}
    only_txt = datasets.DatasetFolder(
        str(folder), loader=open, is_valid_file=lambda p: p.endswith(".txt"), allow_empty=True
    )
    assert [os.path.basename(p) for p, _ in only_txt.samples] == ["notes.txt"]
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes ant, cat"):
        datasets.DatasetFolder(str(folder), loader=open, extensions=(".txt",))
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        datasets.ImageFolder(str(folder / "cat"))


def test_download_without_network_names_url_and_folder(tmp_path, no_network):
    with pytest.raises(RuntimeError) as err:
        datasets.MNIST(str(tmp_path), download=True)
    msg = str(err.value)
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz" in msg
    assert str(tmp_path / "MNIST" / "raw") in msg and "f68b3c2dcbeaaa9fbdd348bbdeb94873" in msg
    with pytest.raises(dutils.DownloadError, match="cifar-10-python.tar.gz") as err:
        datasets.CIFAR10(str(tmp_path), download=True)
    assert str(tmp_path) in str(err.value)
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True"):
        datasets.FashionMNIST(str(tmp_path))


def test_download_is_skipped_when_archives_are_present(tmp_path, no_network, monkeypatch):
    # the .gz files in raw/ with the expected MD5s: download=True extracts them, fetches nothing
    root = str(tmp_path)
    cases.write_mnist(root, "KMNIST", gz=True)
    raw = os.path.join(root, "KMNIST", "raw")
    resources = [
        (n, dutils.calculate_md5(os.path.join(raw, n))) for n, _ in datasets.KMNIST.resources
    ]
    monkeypatch.setattr(datasets.KMNIST, "resources", resources)
    ds = datasets.KMNIST(root, train=False, download=True)
    images, labels = cases.mnist_arrays()
    np.testing.assert_array_equal(ds.data.numpy(), images[4:6])
    np.testing.assert_array_equal(ds.targets.numpy(), labels[4:6])
    assert ds.classes[1] == "ki"


def test_download_url_fetches_checks_md5_and_skips(tmp_path, monkeypatch):
    payload = b"\x1f\x8b" + bytes(range(200)) * 50
    calls = []

    class Response:
        length = len(payload)

        def __init__(self):
            self.left = payload

        def read(self, n):
            chunk, self.left = self.left[:n], self.left[n:]
            return chunk

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    def fake_urlopen(request, timeout=None):
        calls.append(request.full_url)
        return Response()

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    md5 = hashlib.md5(payload).hexdigest()
    dutils.download_url("https://example.org/data/file.bin", str(tmp_path), md5=md5)
    assert (tmp_path / "file.bin").read_bytes() == payload and len(calls) == 1
    dutils.download_url("https://example.org/data/file.bin", str(tmp_path), md5=md5)
    assert len(calls) == 1  # present with the right MD5: not fetched again
    with pytest.raises(RuntimeError, match="File not found or corrupted"):
        dutils.download_url("https://example.org/data/other.bin", str(tmp_path), md5="0" * 32)


def test_extract_archive_formats(tmp_path):
    import tarfile
    import zipfile

    src = tmp_path / "a.txt"
    src.write_text("hello")
    with tarfile.open(tmp_path / "x.tar.gz", "w:gz") as tar:
        tar.add(src, arcname="inner/a.txt")
    with zipfile.ZipFile(tmp_path / "y.zip", "w") as zf:
        zf.write(src, "z/a.txt")
    with gzip.open(tmp_path / "b.txt.gz", "wb") as f:
        f.write(b"gz body")
    dutils.extract_archive(str(tmp_path / "x.tar.gz"), str(tmp_path / "out"))
    dutils.extract_archive(str(tmp_path / "y.zip"), str(tmp_path / "out"))
    dutils.extract_archive(str(tmp_path / "b.txt.gz"))
    assert (tmp_path / "out" / "inner" / "a.txt").read_text() == "hello"
    assert (tmp_path / "out" / "z" / "a.txt").read_text() == "hello"
    assert (tmp_path / "b.txt").read_bytes() == b"gz body"
    with pytest.raises(ValueError, match="Unknown value 'x' for argument split"):
        dutils.verify_str_arg("x", "split", ("train", "test"))


def _idx_file(path, arr, type_code=8):
    dtype = {8: ">u1", 12: ">i4"}[type_code]
    head = struct.pack(">HBB", 0, type_code, arr.ndim) + b"".join(
        struct.pack(">I", d) for d in arr.shape
    )
    with open(path, "wb") as f:
        f.write(head + arr.astype(dtype).tobytes())


def test_emnist_and_qmnist_layouts(tmp_path):
    rng = np.random.default_rng(3)
    raw = tmp_path / "EMNIST" / "raw"
    raw.mkdir(parents=True)
    imgs = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    _idx_file(raw / "emnist-letters-train-images-idx3-ubyte", imgs)
    _idx_file(raw / "emnist-letters-train-labels-idx1-ubyte", np.array([1, 2, 26], dtype=np.uint8))
    ds = datasets.EMNIST(str(tmp_path), split="letters")
    assert ds.classes[:3] == ["N/A", "a", "b"] and ds[2][1] == 26
    np.testing.assert_array_equal(np.asarray(ds[0][0]), imgs[0])
    with pytest.raises(ValueError, match="Unknown value 'words' for argument split"):
        datasets.EMNIST(str(tmp_path), split="words")
    qraw = tmp_path / "QMNIST" / "raw"
    qraw.mkdir(parents=True)
    _idx_file(qraw / "qmnist-test-images-idx3-ubyte", imgs)
    labels = rng.integers(0, 10, (3, 8)).astype(np.int32)
    _idx_file(qraw / "qmnist-test-labels-idx2-int", labels, type_code=12)
    q = datasets.QMNIST(str(tmp_path), train=False)
    assert q[1][1] == int(labels[1, 0]) and q.targets.shape == (3, 8)
    q_full = datasets.QMNIST(str(tmp_path), what="test", compat=False)
    np.testing.assert_array_equal(q_full[2][1].numpy(), labels[2])
    assert "Split: test" in repr(q)


def test_mnist_reads_torchvisions_processed_files(tmp_path):
    images, labels = cases.mnist_arrays()
    proc = tmp_path / "MNIST" / "processed"
    proc.mkdir(parents=True)
    ember.save(
        (ember.from_numpy(images[:4]), ember.from_numpy(labels[:4].astype(np.int64))),
        proc / "training.pt",
    )
    ember.save(
        (ember.from_numpy(images[4:]), ember.from_numpy(labels[4:].astype(np.int64))),
        proc / "test.pt",
    )
    ds = datasets.MNIST(str(tmp_path), train=False)
    np.testing.assert_array_equal(ds.data.numpy(), images[4:])
    assert ds[1][1] == int(labels[5])


def test_svhn_reads_mat_files(tmp_path, monkeypatch):
    sio = pytest.importorskip("scipy.io")
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (32, 32, 3, 4), dtype=np.uint8)
    y = np.array([[10], [1], [5], [10]], dtype=np.uint8)
    sio.savemat(tmp_path / "test_32x32.mat", {"X": x, "y": y})
    md5 = dutils.calculate_md5(tmp_path / "test_32x32.mat")
    split_list = dict(
        datasets.SVHN.split_list, test=[datasets.SVHN.split_list["test"][0], "test_32x32.mat", md5]
    )
    monkeypatch.setattr(datasets.SVHN, "split_list", split_list)
    ds = datasets.SVHN(str(tmp_path), split="test")
    assert ds.labels.tolist() == [0, 1, 5, 0] and ds.data.shape == (4, 3, 32, 32)
    np.testing.assert_array_equal(np.asarray(ds[2][0]), x[:, :, :, 2])
    assert "Split: test" in repr(ds)


def test_fakedata_is_deterministic_per_index():
    fake = datasets.FakeData(size=4, image_size=(3, 6, 5), num_classes=3, transform=T.PILToTensor())
    a, ta = fake[2]
    ember.manual_seed(99)
    b, tb = fake[2]
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert ta == tb and 0 <= ta < 3 and tuple(a.shape) == (3, 6, 5)
    state = ember.get_rng_state()
    fake[0]
    assert ember.equal(state, ember.get_rng_state())  # the global generator is left as it was
    with pytest.raises(IndexError):
        fake[4]


def test_pillow_missing_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    from ember.vision.datasets.folder import pil_loader

    with pytest.raises(ImportError, match=r"ember\[vision\]"):
        pil_loader("x.png")
    from ember.vision.transforms import functional as F

    with pytest.raises(ModuleNotFoundError, match=r"pip install 'ember\[vision\]'"):
        F.to_pil_image(ember.zeros(3, 2, 2))
    # tensor transforms need no Pillow
    assert F.resize(ember.zeros(3, 4, 4), [2, 2]).shape == (3, 2, 2)
