"""Parsed input files kept in the process, keyed by the file's path, size and modification time.

Why: a sweep or ensemble worker builds hundreds of models from the same scenario and data
files, and parsing them again (TOML, the fee and price tables) was most of a small model's
build. A file that changed on disk is read again; every caller gets its own deep copy, so
no run can change what the next one reads. Errors are never cached: a bad file raises its
one clear message each time it is read.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

MAX_ENTRIES = 64  # a cache, not a record: a process reads a handful of files
_CACHE: dict[tuple, Any] = {}


def cached_read(reader: Callable[..., T], path, *args: Any) -> T:
    """``reader(path, *args)``, parsed once per version of the file (a deep copy each call)."""
    try:
        st = os.stat(path)
    except OSError:
        return reader(path, *args)  # the reader says what is wrong with the path
    key = (reader.__module__, reader.__qualname__, os.path.realpath(path), st.st_mtime_ns, st.st_size, args)
    if key not in _CACHE:
        value = reader(path, *args)
        if len(_CACHE) >= MAX_ENTRIES:
            _CACHE.clear()
        _CACHE[key] = value
    return copy.deepcopy(_CACHE[key])
