"""User-facing errors: every one names the file, the field and the offending value."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario (or an override of it) that cannot be used.

    The command line prints ``str(err)`` and exits with status 2, without a traceback.
    """

    def __init__(self, file: str, problems: list[tuple[str, str, object]]):
        self.file = str(file)
        self.problems = problems
        lines = [f"{self.file}: {len(problems)} problem(s)"] if len(problems) > 1 else []
        for field, message, value in problems:
            shown = "" if value is _MISSING else f" (got {value!r})"
            lines.append(f"{self.file}: {field or '<top level>'}: {message}{shown}")
        super().__init__("\n".join(lines))

    def __reduce__(self):  # picklable, so it survives a trip through a worker process
        return (type(self), (self.file, self.problems))

    @classmethod
    def one(cls, file: str, field: str, message: str, value: object = None) -> "ScenarioError":
        return cls(file, [(field, message, _MISSING if value is None else value)])


class _Missing:
    def __repr__(self) -> str:  # pragma: no cover - never shown
        return "<missing>"


_MISSING = _Missing()
