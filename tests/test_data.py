import shutil

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset
from torchvision import datasets, transforms

from aelab import data
from aelab.data import InMemoryLoader, MNISTDataError, make_splits, verify_raw_files


def test_shipped_files_verify():
    raw = verify_raw_files()
    assert sorted(p.name for p in raw.glob("*.gz")) == sorted(data.RAW_FILES)


@pytest.fixture
def data_copy(tmp_path):
    shutil.copytree(
        data.default_root() / "MNIST" / "raw",
        tmp_path / "MNIST" / "raw",
        ignore=shutil.ignore_patterns("*-ubyte"),
    )
    return tmp_path


def test_missing_file_is_a_clear_error(data_copy):
    (data_copy / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MNISTDataError, match=r"missing: .*t10k-labels-idx1-ubyte\.gz.*git chec"):
        data.load_mnist(train=False, root=data_copy)


def test_corrupt_file_is_a_clear_error(data_copy):
    path = data_copy / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(
        MNISTDataError,
        match=r"corrupt: .*train-images-idx3-ubyte\.gz has MD5 \w+, "
        r"expected f68b3c2dcbeaaa9fbdd348bbdeb94873",
    ):
        make_splits(root=data_copy)


def test_truncated_extraction_is_a_clear_error(data_copy):
    data.load_mnist(train=False, root=data_copy)  # extracts
    extracted = data_copy / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    extracted.write_bytes(extracted.read_bytes()[:1000])
    with pytest.raises(MNISTDataError, match="Delete the extracted"):
        data.load_mnist(train=False, root=data_copy)


def test_data_root_from_environment(monkeypatch, data_copy):
    monkeypatch.setenv("AELAB_DATA_ROOT", str(data_copy))
    assert data.default_root() == data_copy
    assert verify_raw_files() == data_copy / "MNIST" / "raw"


def test_split_sizes_disjoint_and_reproducible(splits):
    assert (len(splits.train_dataset), len(splits.val_dataset), len(splits.test_dataset)) == (
        48_000,
        12_000,
        10_000,
    )
    train, val = set(splits.train_dataset.indices), set(splits.val_dataset.indices)
    assert not train & val and len(train | val) == 60_000
    again = make_splits()
    assert again.train_dataset.indices == splits.train_dataset.indices
    other_seed = make_splits(seed=1)
    assert other_seed.train_dataset.indices != splits.train_dataset.indices


def test_pixels_match_torchvision_to_tensor(splits):
    reference = datasets.MNIST(
        str(data.default_root()), train=False, transform=transforms.ToTensor()
    )
    for index in (0, 1234, 9999):
        image, label = splits.test_dataset[index]
        expected_image, expected_label = reference[index]
        assert torch.equal(image, expected_image) and int(label) == expected_label
    images = splits.test_dataset.tensors[0]
    assert images.shape == (10_000, 1, 28, 28)
    assert images.min() == 0 and images.max() == 1


def test_loaders(splits):
    for loader in (splits.train_loader, splits.val_loader, splits.test_loader):
        assert loader.batch_size == 512
    assert splits.train_loader.dataset is splits.train_dataset
    assert splits.val_loader.dataset is splits.val_dataset
    assert splits.test_loader.dataset is splits.test_dataset
    images, labels = next(iter(splits.train_loader))
    assert images.shape == (512, 1, 28, 28) and labels.shape == (512,)
    assert len(splits.train_loader) == 94 and sum(len(b[0]) for b in splits.val_loader) == 12_000


def test_train_loader_reshuffles_each_epoch(splits):
    first = next(iter(splits.train_loader))[1]
    second = next(iter(splits.train_loader))[1]
    assert not torch.equal(first, second)
    in_order = torch.stack([splits.train_dataset[i][1] for i in range(512)])
    assert not torch.equal(first, in_order)


def test_in_memory_loader_matches_dataloader():
    dataset = TensorDataset(torch.arange(50.0).view(50, 1), torch.arange(50))
    subset = torch.utils.data.Subset(dataset, list(range(49, -1, -2)))
    for shuffle in (False, True):
        fast = InMemoryLoader(subset, 8, shuffle, generator=torch.Generator().manual_seed(3))
        slow = DataLoader(subset, 8, shuffle=shuffle, generator=torch.Generator().manual_seed(3))
        for (a, la), (b, lb) in zip(fast, slow, strict=True):
            assert torch.equal(a, b) and torch.equal(la, lb)


def test_in_memory_loader_refuses_other_datasets():
    with pytest.raises(TypeError, match="TensorDataset"):
        InMemoryLoader(list(range(10)), 4)
