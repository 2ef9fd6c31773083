"""Where ``run``, ``sweep`` and ``study`` may write, and what they may remove there.

Why this module exists: ``crypto-abm run --out DIR`` used to rename DIR away and delete
it, whatever it held, so ``--out .`` or ``--out ''`` emptied the current folder and
``--out mydata`` deleted a user's files. The rules below are the only place that decides
what an output folder may be; the three commands call them before any work starts, so a
refusal costs nothing and a bad folder never loses a finished run:

- Never an output folder, with or without ``--force``: the current folder (``.``, ``''``)
  or any folder above it, the home folder, the project root, the filesystem root, and any
  folder that holds one of these. Replacing or filling them cannot be what was meant.
- An existing *file* at ``--out`` is refused: ``--out`` names a folder.
- An existing folder is used only if it is empty or recognisably this tool's own: an
  earlier run's folder (:func:`run_out`: a run's ``manifest.json`` and nothing the run did
  not write; ``--force`` also accepts one that holds other files, which are never removed),
  a sweep's folder (resumed) or a study's (resumed). Anything else is refused.
- The folder must be writable. That is tested by creating (and removing) a hidden file
  where the output goes, not from permission bits, which say nothing for root, read-only
  mounts or a path that runs through a file.
- A run killed mid-write leaves ``.NAME.tmp-*`` / ``.NAME.old-*`` beside its folder; the
  next run into the same place removes them (:func:`clean_beside`), and only those.

Every refusal is an :class:`OutputFolderError`, a :class:`~model.errors.ScenarioError`, so
the command line prints it as one ``error:`` line naming the folder and exits with status 2.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Callable

from experiments.provenance import pid_alive
from model.errors import ScenarioError
from model.scenario import PROJECT_ROOT

#: The files every run writes (figures and the copied price and fee CSVs come on top), by these names;
#: a sweep's folder is marked by a MANIFEST too (see :mod:`experiments.sweep.storage`).
TIMESERIES, EXCHANGES, EVENTS, SCENARIO, MANIFEST = (
    "timeseries.parquet", "exchanges.parquet", "events.csv", "scenario.toml", "manifest.json")
RUN_KIND = "crypto-abm run"


class OutputFolderError(ScenarioError):
    """An ``--out`` that cannot be used (exit status 2); ``file`` is the folder."""

    @classmethod
    def at(cls, folder: Path | str, message: str) -> "OutputFolderError":
        return cls.one(str(folder), "--out", message)


def target(out: str | Path) -> Path:
    """``out`` as an absolute path (symlinks resolved), or refused if it is one of the folders
    that are never an output: the current folder or one above it, home, the project root, ``/``."""
    path = Path(out).resolve()  # Path('') is Path('.'): the current folder
    cwd = Path.cwd().resolve()
    places = [(cwd, "the current folder")]
    try:
        places.append((Path.home().resolve(), "the home folder"))
    except (RuntimeError, KeyError):  # no HOME and no password entry
        pass
    places.append((PROJECT_ROOT.resolve(), "the project root"))
    why = "is the filesystem root" if path == Path(path.anchor) else None
    for place, name in places:
        if why:
            break
        if path == place:
            why = f"is {name}"
        elif place.is_relative_to(path):
            why = f"holds {name} ({place})"
    if why:
        raise OutputFolderError.at(path, f"{why}: never used as an output folder, even with --force; "
                                         "name a new folder, e.g. --out runs/NAME")
    return path


def listing(path: Path) -> list[str] | None:
    """The names in folder ``path`` (None if it does not exist); a file there is refused."""
    try:
        if path.is_dir():
            return sorted(os.listdir(path))
        exists = os.path.lexists(path)
    except OSError as err:
        raise OutputFolderError.at(path, f"cannot be read ({err.strerror or err})") from None
    if exists:
        raise OutputFolderError.at(path, "is a file, not a folder: --out names the folder to write; "
                                         "choose another --out (the file is left as it is)")
    return None


def check_writable(path: Path, *, beside: bool = False) -> None:
    """Refuse ``path`` now if it cannot be created or written (and, with ``beside``, its
    parent, where a run writes its temporary folder), instead of after the whole run."""
    places = [path, path.parent] if beside else [path]
    probed: set[Path] = set()
    for place in places:
        existing = place
        try:
            while not os.path.lexists(existing) and existing != existing.parent:
                existing = existing.parent
            if not existing.is_dir():
                raise OutputFolderError.at(path, f"cannot be created: {existing} is a file, not a folder")
            if existing in probed:
                continue
            probed.add(existing)
            # a file, not a folder: a sweep's cleaner unlinks stray .*.tmp-* files
            fd, probe = tempfile.mkstemp(prefix=f".{path.name}.tmp-{os.getpid()}-", dir=existing)
            os.close(fd)
            os.unlink(probe)
        except OSError as err:
            raise OutputFolderError.at(path, f"cannot be written ({existing}: {err.strerror or err}); "
                                             "choose a folder you can write to") from None


def _names(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# ---------------------------------------------------------------------------- run
def run_folder(folder: Path) -> tuple[list[str], list[str]] | None:
    """``(ours, foreign)``: the names in ``folder`` an earlier run wrote and the others, or
    None if ``folder`` has no run manifest (it is not a run's folder).

    "Ours" is what the run's manifest lists (``files``). A manifest written before that list
    existed is read as: the fixed names above, the PNG figures and the CSV series (price,
    fees) its scenario.toml names. Only plain files count as ours; a folder is always foreign.
    """
    try:
        record = json.loads((folder / MANIFEST).read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("kind", RUN_KIND) != RUN_KIND or "scenario_sha256" not in record:
        return None
    listed = record.get("files")
    if isinstance(listed, list):
        names = {n for n in listed if isinstance(n, str)}
    else:
        names = {TIMESERIES, EXCHANGES, EVENTS, SCENARIO} | {p.name for p in folder.glob("*.png")}
        try:
            market = tomllib.loads((folder / SCENARIO).read_text())["market"]
            names.update(n for n in (market.get("price", {}).get("csv"), market.get("fees_csv"))
                         if isinstance(n, str))
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
            pass
    names.add(MANIFEST)
    ours, foreign = [], []
    for name in sorted(os.listdir(folder)):
        path = folder / name
        (ours if name in names and path.is_file() and not path.is_symlink() else foreign).append(name)
    return ours, foreign


def run_out(out: str | Path, *, force: bool = False) -> Path:
    """The folder ``crypto-abm run`` may write, as an absolute path, or :class:`OutputFolderError`.

    A run replaces its folder, so an existing folder must be empty or an earlier run's
    (:func:`run_folder`); with ``force``, an earlier run's folder that
    also holds files the run did not write is accepted too (they are kept).
    """
    path = target(out)
    entries = listing(path)
    if entries:
        split = run_folder(path)
        if split is None:
            raise OutputFolderError.at(
                path, f"is not an earlier run's folder (it has no run manifest.json) and holds {_names(entries)}: "
                      "a run replaces only a folder a run wrote; choose a new or empty folder"
                      + (" (--force does not change this: it never writes into a folder a run did not make)"
                         if force else ""))
        foreign = split[1]
        if foreign and not force:
            raise OutputFolderError.at(
                path, f"is an earlier run's folder but also holds {_names(foreign)}, which crypto-abm did not "
                      "write: move them away, choose another --out, or add --force to write the new run beside "
                      "them (they are kept)")
    check_writable(path, beside=True)
    return path


#: What a killed run leaves beside its folder NAME: ``.NAME.tmp-<pid>-<random>`` (older
#: versions: ``.NAME.tmp-<random>``), the run being written, and ``.NAME.old-<digits>``,
#: the earlier run being replaced.
_STALE = r"^\.{name}\.(?:tmp-(?:(?P<pid>\d+)-)?[a-z0-9_]+|(?P<old>old)-\d+)$"


def clean_beside(path: Path) -> list[Path]:
    """Remove what a killed run left beside ``path`` (only names matching :data:`_STALE` for
    this NAME); return what was removed.

    A temporary of a process that is still alive (another run writing there now) is left
    alone. An ``.old-*`` folder is removed only if it is an earlier run's and holds nothing
    else: older versions renamed *any* folder to ``.old-*`` before deleting it, so one left
    by them may hold a user's files, and it is kept with a warning.
    """
    parent = path.parent
    if not parent.is_dir():
        return []
    pattern = re.compile(_STALE.format(name=re.escape(path.name)))
    removed = []
    for entry in sorted(parent.iterdir()):
        m = pattern.match(entry.name)
        if m is None:
            continue
        if m["old"]:
            split = run_folder(entry) if entry.is_dir() and not entry.is_symlink() else None
            if split is None or split[1]:
                print(f"warning: kept {entry}: left by an interrupted run, it is not only an earlier run's "
                      "output; look at it and delete it yourself", file=sys.stderr)
                continue
        elif m["pid"] and int(m["pid"]) != os.getpid() and pid_alive(int(m["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed




# ---------------------------------------------------------------------------- sweep, study
def resumable_out(out: str | Path, *, what: str, foreign: Callable[[Path, list[str]], str | None],
                  force: bool = False) -> Path:
    """The folder a resumable command (sweep, study) may write, or :class:`OutputFolderError`.

    ``foreign(path, names)`` returns why an existing non-empty folder is not ``what`` (or
    None if it is). Nothing in such a folder is ever removed, so ``force`` changes nothing
    here; it is accepted so that the three commands share one command line.
    """
    path = target(out)
    entries = listing(path)
    if entries:
        why = foreign(path, entries)
        if why:
            raise OutputFolderError.at(path, f"{why}: not {what}; choose a new or empty folder"
                                             + (" (--force does not change this)" if force else ""))
    check_writable(path)
    return path


def sweep_out(out: str | Path, *, force: bool = False) -> Path:
    """``crypto-abm sweep``'s folder. A sweep folder is marked by its ``manifest.json`` (with
    the spec's SHA-256, see :mod:`experiments.sweep.storage`); a folder with another
    manifest (a run's) is refused here, and a non-empty one with none by the storage."""
    return resumable_out(out, what="a sweep folder", foreign=_not_a_sweep, force=force)


def _not_a_sweep(path: Path, names: list[str]) -> str | None:
    if MANIFEST not in names:
        return None  # SweepFolder.open/acquire refuse a non-empty folder without one
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return f"holds a {MANIFEST} that is not readable JSON"
    if not isinstance(manifest, dict) or "spec_sha256" not in manifest:
        return f"holds a {MANIFEST} that is not a sweep's (an earlier run's folder?)"
    return None
