"""The dataset catalog (declarative entries) and the per-user registry of prepared tasks.

Datasets register an entry at import; this module never imports a dataset. The registry is a
small JSON file in the data home, written atomically under a file lock.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from .errors import InvalidDataError, NotFoundError
from .fsutil import atomic_write_text

HOME_ENV = "IMAGESETS_HOME"
REGISTRY_VERSION = 1


def data_home(home: str | os.PathLike | None = None) -> Path:
    """The per-user data home: ``home`` if given, else ``$IMAGESETS_HOME``, else platformdirs."""
    if home is None:
        home = os.environ.get(HOME_ENV)
    if not home:
        import platformdirs

        home = platformdirs.user_data_dir("imagesets", appauthor=False)
    return Path(home).expanduser().resolve()


OPTION_TYPES = (str, int, float, bool, Path)


@dataclass(frozen=True)
class Option:
    """One option of a task, declared once; the CLI flags, ``--help``, the API's checks and the
    recorded parameters are all built from it.

    ``changes_output=False`` marks options that only say how to work (workers, engine): they
    are never compared with a prepared task's parameters nor recorded. ``remembered=True``
    marks options that describe files already written (an output folder, a JPEG quality):
    like the data dir, left out they keep the value recorded last time, so a plain ``load()``
    never redoes hours of work elsewhere; every other option left out takes its ``default``.
    ``type=Path`` values are stored as absolute path strings; ``multiple`` options take a list
    (``--sets train val``).
    """

    name: str
    help: str
    type: type = str
    default: Any = None
    choices: tuple[Any, ...] = ()
    multiple: bool = False
    changes_output: bool = True
    remembered: bool = False
    minimum: float | None = None
    flag: str = ""
    aliases: tuple[str, ...] = ()
    metavar: str | None = None

    def __post_init__(self) -> None:
        if self.type not in OPTION_TYPES:
            raise TypeError(f"option {self.name}: type must be one of {OPTION_TYPES}")

    @property
    def cli_flag(self) -> str:
        """The command-line flag: ``flag`` if declared, else ``--`` + name with dashes."""
        return self.flag or "--" + self.name.replace("_", "-")

    def value(self, given: Any) -> Any:
        """``given`` checked against the declaration and turned into its JSON form."""
        if given is None:
            return None
        if self.multiple:
            items = [given] if isinstance(given, (str, os.PathLike)) else given
            if not isinstance(items, (list, tuple)) or not items:
                raise InvalidDataError(f"option {self.name} takes a non-empty list, got "
                                       f"{given!r}")
            return [self._one(item) for item in items]
        return self._one(given)

    def _one(self, given: Any) -> Any:
        kind = self.type
        if kind is Path and isinstance(given, (str, os.PathLike)):
            value: Any = os.fspath(Path(given).expanduser().resolve())
        elif kind is float and isinstance(given, int) and not isinstance(given, bool):
            value = float(given)
        elif isinstance(given, kind) and not (kind is int and isinstance(given, bool)):
            value = given
        else:
            raise InvalidDataError(f"option {self.name} takes a {kind.__name__}"
                                   f"{' list' if self.multiple else ''}, got {given!r}")
        if self.choices and value not in self.choices:
            raise InvalidDataError(f"option {self.name} must be one of "
                                   f"{', '.join(map(str, self.choices))}, got {given!r}")
        if self.minimum is not None and value < self.minimum:
            raise InvalidDataError(f"option {self.name} must be at least "
                                   f"{self.minimum:g}, got {given!r}")
        return value


@dataclass(frozen=True)
class Task:
    """One way of preparing a dataset (e.g. ``classification``) and the options it takes.

    ``format_version`` is the version of the metadata file this imagesets writes for the task:
    files recorded with an older one are rebuilt, a newer one is refused.
    """

    name: str
    description: str
    options: tuple[Option, ...] = ()
    format_version: int = 1

    @property
    def option_names(self) -> list[str]:
        return [o.name for o in self.options]

    def option(self, name: str) -> Option:
        return next(o for o in self.options if o.name == name)

    def effective_options(self, dataset: str, given: Mapping[str, Any],
                          recorded: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every option's value for a build: given ones checked, remembered ones left out
        taken from ``recorded``, the others their default. Unknown names are refused."""
        unknown = sorted(set(given) - set(self.option_names))
        if unknown:
            raise NotFoundError(
                f"{dataset}/{self.name} does not take the option(s) {', '.join(unknown)}; it "
                f"takes: {', '.join(self.option_names) or 'no options'}")
        values = {}
        for option in self.options:
            if option.name in given and given[option.name] is not None:
                values[option.name] = option.value(given[option.name])
            elif option.remembered and recorded and option.name in recorded:
                values[option.name] = recorded[option.name]
            else:
                values[option.name] = option.value(option.default)
        return values

    def output_parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The values of the options that change the output: what a prepared task records."""
        return {o.name: values.get(o.name) for o in self.options if o.changes_output}


@dataclass(frozen=True)
class PrepareRequest:
    """What a dataset's ``prepare`` gets: where the data is and where to put metadata.

    ``options`` holds every option of the task with its effective value (declared default
    where not given), as JSON values (paths as absolute strings, lists for ``multiple``).
    """

    dataset: str
    task: str
    data_dir: Path
    metadata_dir: Path
    verbose: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PreparedTask:
    """A registry record: a task prepared from ``data_dir`` into ``metadata_file``."""

    dataset: str
    task: str
    data_dir: str
    metadata_file: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    created: str = ""
    inputs: str = ""
    format_version: int = 1


@dataclass(frozen=True)
class DatasetEntry:
    """Everything the catalog knows about one dataset, and the hooks that prepare and open it."""

    name: str
    title: str
    description: str
    keywords: tuple[str, ...]
    size: str
    downloadable: bool
    tasks: tuple[Task, ...]
    default_task: str
    sets: tuple[str, ...]
    fields: tuple[str, ...]
    setup: str
    license: str
    homepage: str
    prepare: Callable[[PrepareRequest], PreparedTask]
    open: Callable[[PreparedTask], Any]
    download: Callable[..., Any] | None = None
    inputs: Callable[[Path, Mapping[str, Any]], str] | None = None

    @property
    def task_names(self) -> list[str]:
        return [t.name for t in self.tasks]

    def resolve_task(self, task: str | None) -> str:
        """The task to use: ``task`` if known, the default if None; otherwise a clear error."""
        if task is None or task == "default":
            return self.default_task
        if task not in self.task_names:
            raise NotFoundError(f"dataset '{self.name}' has no task '{task}'; its tasks are: "
                                f"{', '.join(self.task_names)} (default: {self.default_task})")
        return task

    def get_task(self, task: str | None) -> Task:
        """The :class:`Task` called ``task`` (the default if None)."""
        name = self.resolve_task(task)
        return next(t for t in self.tasks if t.name == name)

    def summary(self) -> dict[str, Any]:
        """The catalog entry as plain data (what ``imagesets info NAME`` prints)."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "keywords": list(self.keywords),
            "size": self.size,
            "downloadable": self.downloadable,
            "tasks": {t.name: t.description for t in self.tasks},
            "options": {t.name: {o.name: {"default": o.default, "help": o.help,
                                          "changes_output": o.changes_output}
                                 for o in t.options} for t in self.tasks},
            "default_task": self.default_task,
            "sets": list(self.sets),
            "fields": list(self.fields),
            "setup": self.setup,
            "license": self.license,
            "homepage": self.homepage,
        }


_ENTRIES: dict[str, DatasetEntry] = {}


def register(entry: DatasetEntry) -> DatasetEntry:
    """Add a dataset to the catalog (called by each dataset package at import)."""
    _ENTRIES[entry.name] = entry
    return entry


def entries() -> list[DatasetEntry]:
    """All catalog entries, sorted by name."""
    return [_ENTRIES[name] for name in sorted(_ENTRIES)]


def get_entry(name: str) -> DatasetEntry:
    """The catalog entry called ``name`` (case-insensitive), or a NotFoundError listing them."""
    key = name.lower().replace("-", "_")
    if key not in _ENTRIES:
        raise NotFoundError(f"unknown dataset '{name}'; known datasets: "
                            f"{', '.join(sorted(_ENTRIES))} (see `imagesets list`)")
    return _ENTRIES[key]


class Registry:
    """The JSON record of what was prepared where, in the data home.

    Every change is a read-modify-write under a file lock, written to a temp file and renamed,
    so concurrent processes cannot corrupt it. A file that does not parse is never discarded.
    """

    def __init__(self, home: str | os.PathLike | None = None) -> None:
        self.home = data_home(home)
        self.path = self.home / "registry.json"
        self._lock_path = self.home / "registry.json.lock"

    def lock(self) -> FileLock:
        self.home.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self._lock_path))

    def task_lock(self, dataset: str, task: str) -> FileLock:
        """A lock serialising builds of one task, so two processes never build it at once."""
        folder = self.metadata_dir(dataset)
        folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(folder / f".{task}.lock"))

    def metadata_dir(self, dataset: str) -> Path:
        return self.home / dataset

    def read(self) -> dict[str, Any]:
        """The registry's content (an empty registry if the file does not exist yet)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"version": REGISTRY_VERSION, "datasets": {}}
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("datasets"), dict):
                raise ValueError("top level must be an object with a 'datasets' object")
        except ValueError as exc:
            raise InvalidDataError(
                f"the imagesets registry {self.path} cannot be parsed ({exc}). Fix it by hand, "
                f"or move it aside to reset it (prepared datasets must then be prepared again): "
                f"mv '{self.path}' '{self.path}.bak'") from exc
        return data

    def _write(self, data: dict[str, Any]) -> None:
        atomic_write_text(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")

    def get(self, dataset: str, task: str) -> PreparedTask | None:
        record = self.read()["datasets"].get(dataset, {}).get("tasks", {}).get(task)
        return PreparedTask(**record) if record else None

    def data_dir(self, dataset: str) -> str | None:
        return self.read()["datasets"].get(dataset, {}).get("data_dir")

    def prepared(self) -> list[PreparedTask]:
        """Every prepared task, sorted by dataset then task."""
        out = []
        for _name, entry in sorted(self.read()["datasets"].items()):
            for _, record in sorted(entry.get("tasks", {}).items()):
                out.append(PreparedTask(**record))
        return out

    def record(self, prepared: PreparedTask) -> PreparedTask:
        """Store a prepared task (stamping its creation time) and its dataset's data dir."""
        if not prepared.created:
            now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            prepared = PreparedTask(**{**asdict(prepared), "created": now})
        with self.lock():
            data = self.read()
            entry = data["datasets"].setdefault(prepared.dataset, {"tasks": {}})
            entry["data_dir"] = prepared.data_dir
            entry.setdefault("tasks", {})[prepared.task] = asdict(prepared)
            self._write(data)
        return prepared

    def set_data_dir(self, dataset: str, data_dir: str | os.PathLike) -> None:
        """Remember where a dataset's files are, before any task is prepared."""
        with self.lock():
            data = self.read()
            data["datasets"].setdefault(dataset, {"tasks": {}})["data_dir"] = str(data_dir)
            self._write(data)

    def remove(self, dataset: str, task: str | None = None) -> list[PreparedTask]:
        """Forget one task (or the whole dataset); return the records removed."""
        with self.lock():
            data = self.read()
            entry = data["datasets"].get(dataset)
            if not entry:
                return []
            tasks = entry.get("tasks", {})
            names = [task] if task is not None else list(tasks)
            removed = [PreparedTask(**tasks.pop(n)) for n in names if n in tasks]
            if task is None:
                del data["datasets"][dataset]
            self._write(data)
        return removed
