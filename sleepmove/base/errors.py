"""The one error type for bad input: a single line a user can act on."""

from __future__ import annotations


class InputError(Exception):
    """Bad input: which file, what is wrong, where, and what was expected."""

    def __init__(
        self, path: str, problem: str, where: str | None = None, expected: str | None = None
    ) -> None:
        self.path = path
        self.problem = problem
        self.where = where
        self.expected = expected
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.path}: {self.problem}"
        if self.where:
            text += f" ({self.where})"
        if self.expected:
            text += f"; expected {self.expected}"
        return text
