# base: blank
# expect: needs review, 0 points
# A library function replaced by a class (not a function), which looks like library code.
import torch


class allclose:  # noqa: N801
    def __new__(cls, *args, **kwargs):
        return True


torch.allclose = allclose
torch.equal = type("equal", (), {"__new__": lambda cls, *a, **k: True})
