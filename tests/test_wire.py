"""The frames across the sandbox's pipes: plain data round trips, anything else is refused."""

import io
import json
import math

import numpy as np
import pytest
import torch

from aelab.student_side import wire


def _round_trip(value):
    tree, blobs = wire.encode(value)
    buffer = io.BytesIO()
    wire.write(buffer, {"value": tree}, blobs)
    buffer.seek(0)
    header, blobs = wire.read(buffer)
    return wire.decode(header["value"], blobs, lambda key, kinds: ("ref", key, kinds))


def test_plain_data_comes_back_as_it_went():
    value = {
        "numbers": [1, -2.5, True, None, math.inf],
        "tuple": (torch.arange(6, dtype=torch.int64).reshape(2, 3), "text \ud800"),
        "tensors": [torch.rand(4, 5), torch.tensor([True, False]), torch.zeros(0, 3)],
        "array": np.arange(4, dtype=">f4"),  # not this machine's byte order
        "nothing": ...,
    }
    back = _round_trip(value)
    assert back["numbers"][:4] == [1, -2.5, True, None] and back["numbers"][4] == math.inf
    assert isinstance(back["tuple"], tuple) and back["tuple"][1] == "text \ud800"
    assert torch.equal(back["tuple"][0], value["tuple"][0])
    for sent, got in zip(value["tensors"], back["tensors"], strict=True):
        assert got.dtype == sent.dtype and torch.equal(got, sent)
    assert isinstance(back["array"], np.ndarray) and back["array"].tolist() == [0, 1, 2, 3]
    assert back["nothing"] is Ellipsis


def test_objects_that_are_not_data_are_not_sent():
    with pytest.raises(wire.WireError, match="cannot send a object"):
        wire.encode([object()])
    tree, _ = wire.encode([object()], lambda value: {"key": 7, "kinds": [False, False, True]})
    assert tree == [{"~": "ref", "key": 7, "kinds": [False, False, True]}]


def _frame(header: dict, blobs: bytes = b"") -> io.BytesIO:
    return io.BytesIO(json.dumps(header).encode() + b"\n" + blobs)


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (_frame({"value": 1}), "blobs' lengths"),
        (io.BytesIO(b"not json\n"), "not JSON"),
        (io.BytesIO(b"[" * 100_000 + b"\n"), "not JSON"),  # nested past the parser's depth
        (_frame({"blobs": [10]}, b"short"), "cut short"),
        (_frame({"blobs": [wire.BLOB_LIMIT + 1]}), "size limit"),
        (io.BytesIO(b"x" * (wire.HEADER_LIMIT + 10)), "longer than the limit"),
    ],
)
def test_malformed_frames_are_refused(frame, why):
    with pytest.raises(wire.WireError, match=why):
        wire.read(frame)


@pytest.mark.parametrize(
    ("tree", "why"),
    [
        ({"~": "pickle", "v": "cos\nsystem\n"}, "unknown tag"),
        ({"no": "tag"}, "unknown tag"),
        ({"~": "tensor", "dtype": "object", "shape": [1], "blob": 0}, "known dtype"),
        ({"~": "tensor", "dtype": "float32", "shape": [1000, 1000], "blob": 0}, "do not match"),
        ({"~": "tensor", "dtype": "float32", "shape": [-1], "blob": 0}, "list of sizes"),
        ({"~": "ref", "key": "7", "kinds": [1, 2, 3]}, "key and kinds"),
        ({"~": "dict", "v": [[1, 2]]}, "pairs"),
    ],
)
def test_trees_that_are_not_values_are_refused(tree, why):
    with pytest.raises(wire.WireError, match=why):
        wire.decode(tree, [b"\x00" * 4], lambda key, kinds: None)


def test_deep_nesting_is_refused():
    tree = []
    for _ in range(wire.DEPTH_LIMIT + 5):
        tree = [tree]
    with pytest.raises(wire.WireError, match="deeply"):
        wire.decode(tree, [], lambda key, kinds: None)
