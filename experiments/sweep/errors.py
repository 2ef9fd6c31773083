"""The one user-facing error of sweeps: a spec (or a sweep folder) that cannot be used.

It reads like :class:`model.errors.ScenarioError` (file, field, value) so the command
line can print it the same way and exit with status 2, but it is a separate class: a
scenario problem found while checking a spec is re-raised as a SpecError naming the
*spec* file and the spec field that caused it.
"""

from __future__ import annotations

from model.errors import _MISSING


class SpecError(ValueError):
    """A sweep spec, or a sweep folder, that cannot be used (exit status 2)."""

    def __init__(self, file: str, problems: list[tuple[str, str, object]]):
        self.file = str(file)
        self.problems = problems
        lines = [f"{self.file}: {len(problems)} problem(s)"] if len(problems) > 1 else []
        for field, message, value in problems:
            shown = "" if value is _MISSING else f" (got {value!r})"
            lines.append(f"{self.file}: {field or '<top level>'}: {message}{shown}")
        super().__init__("\n".join(lines))

    def __reduce__(self):  # picklable, so it survives a trip through a worker
        return (type(self), (self.file, self.problems))

    @classmethod
    def one(cls, file: str, field: str, message: str, value: object = _MISSING) -> "SpecError":
        return cls(file, [(field, message, value)])
