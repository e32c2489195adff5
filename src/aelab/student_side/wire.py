"""The frames that cross the sandbox's pipes: a line of JSON, then raw tensor bytes.

A frame is a header (one line of JSON, ending in a newline) followed by the bytes of the
tensors it holds, back to back; the header lists their lengths. Values are JSON's own
(null, booleans, numbers, strings, arrays for lists) or tagged objects::

    {"~": "tuple", "v": [...]}      {"~": "dict", "v": [[key, value], ...]}
    {"~": "tensor", "dtype": "float32", "shape": [2, 3], "blob": 0}   ("array": a NumPy array)
    {"~": "ref", "key": 7, "kinds": [module, class, callable]}      {"~": "..."}

Reading a frame builds nothing but these: tensors from raw bytes of an allowed dtype and a
shape that matches their length, references as the reader chooses to make them. So a peer
can make the reader neither run code (no pickle, no eval) nor allocate past the limits.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np
import torch

# The largest honest frames: a split's 48,000 indices (a 300 KB header), 1,024 images or a
# VAE's weights (3 MB of tensors). Anything far past that is refused, not allocated.
HEADER_LIMIT = 8 * 2**20  # bytes of one header
BLOB_LIMIT = 64 * 2**20  # bytes of one frame's tensors together
DEPTH_LIMIT = 64
DTYPES = {
    name: (np.dtype(name), getattr(torch, name))
    for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8")
}
DTYPES["bool"] = (np.dtype(np.bool_), torch.bool)
_NAMES = {torch_type: name for name, (_, torch_type) in DTYPES.items()}


class WireError(ValueError):
    """A frame that is not one: too big, cut short, or not built as this module builds them."""


def encode(value: Any, ref_tag: Callable[[Any], dict] | None = None) -> tuple[Any, list[bytes]]:
    """``value`` as a JSON-able tree and the tensor bytes it points to.

    ``ref_tag(value)`` turns a reference into its tag; anything it does not handle, and
    anything that is not plain data, is an error.
    """
    blobs: list[bytes] = []

    def numbers(tag: str, array: np.ndarray, dtype: str) -> dict:
        blobs.append(array.tobytes())
        return {"~": tag, "dtype": dtype, "shape": list(array.shape), "blob": len(blobs) - 1}

    def tree(item: Any, depth: int) -> Any:
        if depth > DEPTH_LIMIT:
            raise WireError("nested too deeply")
        if item is None or type(item) in (bool, int, float, str):
            return item
        if item is Ellipsis:
            return {"~": "..."}
        if isinstance(item, torch.Tensor):
            tensor = item.detach().to("cpu").contiguous()
            if tensor.dtype not in _NAMES:
                tensor = tensor.float()
            return numbers("tensor", tensor.numpy(), _NAMES[tensor.dtype])
        if isinstance(item, np.ndarray) and item.dtype.name in DTYPES:
            native = np.ascontiguousarray(item, dtype=DTYPES[item.dtype.name][0])
            return numbers("array", native, item.dtype.name)
        if type(item) is list:
            return [tree(x, depth + 1) for x in item]
        if type(item) is tuple:
            return {"~": "tuple", "v": [tree(x, depth + 1) for x in item]}
        if type(item) is dict:
            return {"~": "dict", "v": [[str(k), tree(v, depth + 1)] for k, v in item.items()]}
        tag = ref_tag(item) if ref_tag is not None else None
        if tag is None:
            raise WireError(f"cannot send a {type(item).__name__}")
        return {"~": "ref", **tag}

    return tree(value, 0), blobs


def decode(tree: Any, blobs: list[bytes], make_ref: Callable[[int, tuple], Any]) -> Any:
    """The value ``tree`` stands for; ``make_ref(key, kinds)`` makes each reference."""

    def value(item: Any, depth: int) -> Any:
        if depth > DEPTH_LIMIT:
            raise WireError("nested too deeply")
        if item is None or type(item) in (bool, int, float, str):
            return item
        if type(item) is list:
            return [value(x, depth + 1) for x in item]
        if type(item) is not dict:
            raise WireError("not a value")
        tag = item.get("~")
        if tag == "...":
            return Ellipsis
        if tag == "tuple":
            return tuple(value(x, depth + 1) for x in _list(item.get("v")))
        if tag == "dict":
            pairs = _list(item.get("v"))
            if not all(type(p) is list and len(p) == 2 and type(p[0]) is str for p in pairs):
                raise WireError("a dict's items are not [key, value] pairs")
            return {key: value(v, depth + 1) for key, v in pairs}
        if tag in ("tensor", "array"):
            array = _array(item, blobs)
            return torch.from_numpy(array) if tag == "tensor" else array
        if tag == "ref":
            key, kinds = item.get("key"), _list(item.get("kinds"))
            if type(key) is not int or len(kinds) != 3 or not all(type(k) is bool for k in kinds):
                raise WireError("a reference without its key and kinds")
            return make_ref(key, tuple(kinds))
        raise WireError(f"unknown tag {str(tag)[:20]!r}")

    return value(tree, 0)


def _list(item: Any) -> list:
    if type(item) is not list:
        raise WireError("expected a list")
    return item


def _array(item: dict, blobs: list[bytes]) -> np.ndarray:
    dtype, shape, index = item.get("dtype"), item.get("shape"), item.get("blob")
    if dtype not in DTYPES or type(index) is not int or not 0 <= index < len(blobs):
        raise WireError("a tensor without a known dtype or its bytes")
    sizes_ok = type(shape) is list and all(type(n) is int and n >= 0 for n in shape)
    if not sizes_ok or len(shape) > 8:
        raise WireError("a tensor's shape is not a list of sizes")
    numpy_type, _ = DTYPES[dtype]
    if math.prod(shape) * numpy_type.itemsize != len(blobs[index]):
        raise WireError("a tensor's bytes do not match its shape")
    return np.frombuffer(blobs[index], dtype=numpy_type).reshape(shape).copy()


def write(file: BinaryIO, header: dict, blobs: list[bytes] = ()) -> None:
    """Write one frame: ``header`` (with the blobs' lengths added) and the blobs."""
    line = json.dumps({**header, "blobs": [len(b) for b in blobs]}, ensure_ascii=True)
    file.write(line.encode("ascii") + b"\n")
    for blob in blobs:
        file.write(blob)
    file.flush()


def read(file: BinaryIO) -> tuple[dict, list[bytes]] | None:
    """Read one frame; None at the end of the stream; WireError for anything malformed."""
    line = file.readline(HEADER_LIMIT + 1)
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise WireError("a header longer than the limit, or cut short")
    try:
        header = json.loads(line)
    except (ValueError, RecursionError) as error:
        raise WireError(f"a header that is not JSON ({type(error).__name__})") from None
    sizes = header.get("blobs") if type(header) is dict else None
    if type(sizes) is not list or not all(type(n) is int and n >= 0 for n in sizes):
        raise WireError("a header without its blobs' lengths")
    if sum(sizes) > BLOB_LIMIT:
        raise WireError("a frame over the size limit")
    blobs = []
    for size in sizes:
        blob = file.read(size)
        if blob is None or len(blob) != size:
            raise WireError("a frame cut short")
        blobs.append(blob)
    return header, blobs
