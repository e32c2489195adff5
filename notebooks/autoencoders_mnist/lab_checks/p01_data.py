"""Problem 1: the datasets, their split, and a loader for each.

Where the checks run beside the grader's own MNIST, the images a dataset or loader serves are
looked up there: they must be MNIST's, of the right split, at the indices the split names.
"""

from __future__ import annotations

from typing import Any

import torch

from aelab.student_side.objects import Ref, observe

from .common import PROBLEM_1, ask, attr, expect, first_batch, mnist, need

# The notebook's names each check reads: each named in the problem text (aelab build checks
# both; docs/instructor.md: Add a check).
READS = {
    "dataset_sizes": ("train_dataset", "val_dataset", "test_dataset"),
    "loader_batch_sizes": ("train_loader", "val_loader", "test_loader"),
    "split_is_a_random_partition": ("train_dataset", "val_dataset"),
    "loaders_serve_their_datasets": (
        "train_loader",
        "train_dataset",
        "val_loader",
        "val_dataset",
        "test_loader",
        "test_dataset",
    ),
    "loader_order": ("train_loader", "val_loader", "test_loader"),
}

SPLITS = {"train_dataset": True, "val_dataset": True, "test_dataset": False}  # MNIST train=


def _length(value: Any) -> int:
    return ask("len", value.len) if isinstance(value, Ref) else len(value)


def dataset_sizes(env: Any) -> None:
    """The three datasets hold 48,000, 12,000 and 10,000 images."""
    student = observe(env)
    expected = {"train_dataset": 48000, "val_dataset": 12000, "test_dataset": 10000}
    for name, size in expected.items():
        dataset = need(student, name, PROBLEM_1)
        count = _length(dataset)
        expect(
            count == size,
            "{name} should hold {size} images (the split is 80% / 20% of the 60,000 training "
            "images; the test set has 10,000), not {count}.",
            name=name,
            size=size,
            count=count,
        )
        _serves_mnist(student, dataset, name, int(torch.randint(0, size, ())))


def _serves_mnist(student: Any, dataset: Any, name: str, index: int) -> int | None:
    """Item ``index`` of the student's ``dataset`` is an MNIST image of its split, and label.

    Returns where the image is in the grader's MNIST (None where that is not at hand).
    """
    reference = mnist(student, SPLITS[name])
    if reference is None:
        return None
    item = ask(name, dataset.item, index) if isinstance(dataset, Ref) else None
    found = reference.find(item[0]) if isinstance(item, (tuple, list)) and len(item) == 2 else []
    label = item[1] if found else None
    expect(
        found and int(torch.as_tensor(label)) == int(reference.labels[found[0]]),
        "{name}[{index}] should be an MNIST image (of the {split} set, as transforms.ToTensor() "
        "gives it) with its label.",
        name=name,
        index=index,
        split="training" if SPLITS[name] else "test",
    )
    return found[0]


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
    sizes = [len(i) if isinstance(i, (list, tuple, torch.Tensor)) else -1 for i in indices]
    expect(
        sizes == [48000, 12000],
        "train_dataset and val_dataset should index 48,000 and 12,000 images, not {sizes}.",
        sizes=sizes,
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
    names = ("train_dataset", "val_dataset")
    for name, dataset, chosen in zip(names, (train, val), indices, strict=True):
        for position in torch.randint(0, len(chosen), (4,)).tolist():
            where = _serves_mnist(student, dataset, name, position)
            expect(
                where is None or int(chosen[position]) in _same_image(student, where),
                "{name}[{position}] should be image {index} of the MNIST training set, as its "
                "indices say.",
                name=name,
                position=position,
                index=int(chosen[position]),
            )


def _same_image(student: Any, index: int) -> set[int]:
    """The indices of MNIST's training set that hold the image at ``index`` (a few repeat)."""
    reference = mnist(student, True)
    return set(reference.where[reference.images[index].numpy().tobytes()])


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
        images, labels = first_batch(loader, loader_name)
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
        reference = mnist(student, SPLITS[dataset_name])
        expect(
            reference is None or _labelled_mnist(reference, images, labels),
            "{loader} should serve MNIST images of the {split} set, with their labels.",
            loader=loader_name,
            split="training" if SPLITS[dataset_name] else "test",
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


def _labelled_mnist(reference: Any, images: torch.Tensor, labels: Any) -> bool:
    """Every image of a batch is one of ``reference``'s, with its label."""
    labels = torch.as_tensor(labels) if not isinstance(labels, Ref) else None
    if labels is None or labels.shape != (len(images),):
        return False
    for image, label in zip(images, labels.tolist(), strict=True):
        found = reference.find(image)
        if not found or int(label) not in {int(reference.labels[i]) for i in found}:
            return False
    return True
