"""The one user-facing error of sweeps: a spec (or a sweep folder) that cannot be used.

It is a :class:`model.errors.ScenarioError` (file, field, value; exit status 2), named
apart so that a scenario problem found while checking a spec can be re-raised naming the
*spec* file and the spec field that caused it.
"""

from __future__ import annotations

from model.errors import _MISSING, ScenarioError


class SpecError(ScenarioError):
    """A sweep spec, or a sweep folder, that cannot be used (exit status 2)."""

    @classmethod
    def one(cls, file: str, field: str, message: str, value: object = _MISSING) -> "SpecError":
        return cls(file, [(field, message, value)])
