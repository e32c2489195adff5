"""Problem 1: the datasets, their split, and a loader for each."""

from __future__ import annotations

from typing import Any

import torch

from aelab.student_side.objects import Ref, observe

from .common import PROBLEM_1, ask, attr, expect, first_batch, need


def _length(value: Any) -> int:
    return ask("len", value.len) if isinstance(value, Ref) else len(value)


def dataset_sizes(env: Any) -> None:
    """The three datasets hold 48,000, 12,000 and 10,000 images."""
    student = observe(env)
    expected = {"train_dataset": 48000, "val_dataset": 12000, "test_dataset": 10000}
    for name, size in expected.items():
        count = _length(need(student, name, PROBLEM_1))
        expect(
            count == size,
            "{name} should hold {size} images (the split is 80% / 20% of the 60,000 training "
            "images; the test set has 10,000), not {count}.",
            name=name,
            size=size,
            count=count,
        )


def loader_batch_sizes(env: Any) -> None:
    """Each loader serves batches of 512."""
    student = observe(env)
    for name in ("train_loader", "val_loader", "test_loader"):
        loader = need(student, name, PROBLEM_1)
        size = attr(loader, "batch_size")
        expect(size == 512, "{name} should use batch_size=512, not {size}.", name=name, size=size)


def split_is_a_random_partition(env: Any) -> None:
    """Training and validation sets split the MNIST training set at random, without overlap."""
    student = observe(env)
    train, val = need(student, "train_dataset", PROBLEM_1), need(student, "val_dataset", PROBLEM_1)
    indices = [attr(dataset, "indices") for dataset in (train, val)]
    expect(
        all(i is not None for i in indices),
        "Make train_dataset and val_dataset with random_split on the full MNIST training set.",
    )
    full = attr(train, "dataset")
    expect(
        full is attr(val, "dataset"),
        "Split one dataset: train_dataset and val_dataset should both come from the same MNIST "
        "training set.",
    )
    expect(
        attr(full, "train", True),
        "Split the MNIST *training* set (train=True), not the test set.",
    )
    train_idx, val_idx = (set(map(int, i)) for i in indices)
    both = len(train_idx & val_idx)
    expect(
        both == 0,
        "{both} images are in both the training and the validation set: they must not overlap.",
        both=both,
    )
    expect(
        len(train_idx | val_idx) == 60000,
        "Together, the training and validation sets should cover all 60,000 training images.",
    )
    expect(
        sorted(train_idx)[:200] != list(range(200)),
        "The split should be random (random_split), not the first 48,000 images.",
    )


def loaders_serve_their_datasets(env: Any) -> None:
    """Each loader serves its own dataset as [512, 1, 28, 28] float images in [0, 1]."""
    student = observe(env)
    for loader_name, dataset_name in (
        ("train_loader", "train_dataset"),
        ("val_loader", "val_dataset"),
        ("test_loader", "test_dataset"),
    ):
        loader = need(student, loader_name, PROBLEM_1)
        expect(
            attr(loader, "dataset") is need(student, dataset_name, PROBLEM_1),
            "{loader} should load {dataset}.",
            loader=loader_name,
            dataset=dataset_name,
        )
        images, _ = first_batch(loader, loader_name)
        expect(
            isinstance(images, torch.Tensor) and tuple(images.shape) == (512, 1, 28, 28),
            "A batch of {loader} should be a tensor of shape [512, 1, 28, 28]: give "
            "transform=transforms.ToTensor() to each MNIST dataset.",
            loader=loader_name,
        )
        expect(
            images.dtype == torch.float32 and images.min() >= 0 and images.max() <= 1,
            "Pixel values from {loader} should be floats in [0, 1] (transforms.ToTensor() "
            "scales them; do not normalise them further).",
            loader=loader_name,
        )
    expect(
        not attr(need(student, "test_dataset", PROBLEM_1), "train", False),
        "test_dataset should be the MNIST test set (train=False).",
    )


def loader_order(env: Any) -> None:
    """The training loader shuffles; validation and test loaders keep a fixed order."""
    student = observe(env)
    train = need(student, "train_loader", PROBLEM_1)
    first, second = first_batch(train, "train_loader")[1], first_batch(train, "train_loader")[1]
    expect(
        not torch.equal(first, second),
        "train_loader should shuffle (shuffle=True): two passes over it gave the batches in the "
        "same order.",
    )
    for name in ("val_loader", "test_loader"):
        loader = need(student, name, PROBLEM_1)
        expect(
            torch.equal(first_batch(loader, name)[1], first_batch(loader, name)[1]),
            "Keep {name} in a fixed order (shuffle=False).",
            name=name,
        )
