"""The checks of the tiny lab (see lab.toml)."""

from __future__ import annotations

from typing import Any

from aelab.student_side.objects import observe

# The notebook's names each check reads (each given in the problem text; aelab build checks).
READS = {"adds_small_numbers": ("add",), "adds_negative_numbers": ("add",)}


class CheckFailed(AssertionError):  # noqa: N818 (a verdict, not an error of the check)
    """A check's verdict, from a message template and the values it measured."""

    def __init__(self, template: str, **values: Any) -> None:
        super().__init__(template.format(**values))
        self.template = template
        self.values = values


def adds_small_numbers(env: Any) -> None:
    """add(2, 3) is 5."""
    add = observe(env).get("add")
    if add is None or add.call(2, 3) != 5:
        raise CheckFailed("add(2, 3) should be 5.")


def adds_negative_numbers(env: Any) -> None:
    """add(-4, 1) is -3."""
    got = observe(env).get("add").call(-4, 1)
    if got != -3:
        raise CheckFailed("add(-4, 1) should be -3, not {got}.", got=got)
