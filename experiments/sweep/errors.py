"""The one user-facing error of sweeps: a spec (or a sweep folder) that cannot be used.

It is a :class:`model.errors.ScenarioError` (file, field, value; exit status 2; ``SpecError.one``
shows its value unless it is :data:`model.errors.MISSING`), named apart so that a scenario
problem found while checking a spec can be re-raised naming the *spec* file and the spec field
that caused it.
"""

from __future__ import annotations

from model.errors import ScenarioError


class SpecError(ScenarioError):
    """A sweep spec, or a sweep folder, that cannot be used (exit status 2)."""
