"""User-facing errors: every one names the file, the field and the offending value."""

from __future__ import annotations


class _Missing:
    def __repr__(self) -> str:  # pragma: no cover - never shown
        return "<missing>"

    def __reduce__(self) -> str:  # one object, also after a trip through a worker process
        return "MISSING"


#: The value of a problem that has none to show (a key that is missing, a file that cannot be
#: read): its line ends at the message. Any other value, ``None`` included, is shown as "(got ...)".
MISSING = _Missing()

#: A value shown in an error is cut to this many characters (a whole table would bury the message).
SHOWN_CHARS = 200


def shown(value: object) -> str:
    """``repr(value)``, cut to :data:`SHOWN_CHARS` with a note of the full length."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}... ({len(text):,} characters)"


class ScenarioError(ValueError):
    """A scenario (or an override of it) that cannot be used.

    The command line prints ``str(err)`` and exits with status 2, without a traceback.
    """

    def __init__(self, file: str, problems: list[tuple[str, str, object]]):
        """``problems``: (field, message, value) each; ``value`` is :data:`MISSING` when there is none."""
        self.file = str(file)
        self.problems = problems
        lines = [f"{self.file}: {len(problems)} problem(s)"] if len(problems) > 1 else []
        for field, message, value in problems:
            got = "" if value is MISSING else f" (got {shown(value)})"
            lines.append(f"{self.file}: {field or '<top level>'}: {message}{got}")
        super().__init__("\n".join(lines))

    def __reduce__(self):  # picklable, so it survives a trip through a worker process
        return (type(self), (self.file, self.problems))

    @classmethod
    def one(cls, file: str, field: str, message: str, value: object = MISSING) -> "ScenarioError":
        """One problem; ``value`` is shown as given (``None`` too), unless it is :data:`MISSING`."""
        return cls(file, [(field, message, value)])


class ModelError(RuntimeError):
    """A bug in the model, not in its inputs: a computed value that is not finite.

    Raised by the recorder, so the run stops at the step where it went wrong instead of
    writing a series with a silent hole (the tidy table has no row where a metric does
    not apply, so a NaN there would look like "not applicable").
    """

    def __init__(self, metric: str, country: str, step: int, date: object, value: float):
        self.metric, self.country, self.step, self.date, self.value = metric, country, step, date, value
        super().__init__(f"model bug: {metric} of {country} at step {step} ({date}) is {value!r}, not a "
                         "finite number; the inputs were checked, so the model computed it (please report it)")

    def __reduce__(self):  # picklable, so it survives a trip through a worker process
        return (type(self), (self.metric, self.country, self.step, self.date, self.value))
