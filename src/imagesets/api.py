"""The public API: load, process, remove, download, list_datasets, info."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from .catalog import (
    DatasetEntry,
    PreparedTask,
    PrepareRequest,
    Registry,
    Task,
    entries,
    get_entry,
)
from .errors import ImagesetsError, InvalidDataError, NotFoundError
from .store import stored_format_version

PathLike = str | os.PathLike


def _resolve_data_dir(name: str, data_dir: PathLike | None, registry: Registry) -> Path:
    chosen = data_dir if data_dir is not None else registry.data_dir(name)
    if chosen is None:
        raise NotFoundError(
            f"no data directory is known for '{name}': pass data_dir=... (CLI: --data-dir PATH); "
            f"`imagesets info {name}` says how to get and lay out its files")
    return Path(chosen).expanduser().resolve()


def _build(name: str, task: str | None, data_dir: PathLike | None, verbose: bool,
           registry: Registry, options: dict[str, Any], force: bool) -> Any:
    """Open the prepared task if it is still valid for these inputs and options; else build it.

    A valid task opens without taking a lock (a read-only shared home works); a build runs
    under the task's lock, which is checked again first, so two processes never build it twice.
    """
    entry = get_entry(name)
    declared = entry.get_task(task)
    record = registry.get(entry.name, declared.name)
    effective = declared.effective_options(entry.name, options,
                                           record.parameters if record else None)
    folder = _resolve_data_dir(entry.name, data_dir, registry)
    if not force and _stale(entry, declared, record, folder, effective) is None:
        return entry.open(record)
    with registry.task_lock(entry.name, declared.name):
        record = registry.get(entry.name, declared.name)
        reason = "--force" if force else _stale(entry, declared, record, folder, effective)
        if reason is None:
            return entry.open(record)
        if verbose and record is not None and not force:
            print(f"{entry.name}/{declared.name}: rebuilding: {reason}")
        inputs = entry.inputs(folder, effective) if entry.inputs else ""
        request = PrepareRequest(entry.name, declared.name, folder,
                                 registry.metadata_dir(entry.name), verbose, effective)
        prepared = registry.record(replace(
            entry.prepare(request), parameters=declared.output_parameters(effective),
            inputs=inputs, format_version=declared.format_version))
    if verbose:
        print(f"{entry.name}/{declared.name}: metadata written to {prepared.metadata_file}")
    return entry.open(prepared)


_MISSING = object()


def _stale(entry: DatasetEntry, task: Task, record: PreparedTask | None, data_dir: Path,
           options: dict[str, Any]) -> str | None:
    """Why the prepared ``record`` cannot be reused (None when it can), checked on every load.

    The format version is the metadata file's own (HDF5 attribute) or, for files that do not
    record one, the registry's. A file written by a newer imagesets is refused, not overwritten.
    """
    if record is None:
        return "not prepared yet"
    version = stored_format_version(record.metadata_file)
    version = record.format_version if version is None else version
    if version > task.format_version:
        raise InvalidDataError(
            f"{record.metadata_file} was written by a newer imagesets (format {version}; this "
            f"one reads format {task.format_version}): upgrade imagesets (pip install -U "
            f"imagesets), or rebuild it for this version with `imagesets prepare {entry.name} "
            f"--task {task.name} --force` (the newer version will then rebuild it in turn)")
    if not Path(record.metadata_file).exists():
        return f"its metadata file {record.metadata_file} is missing"
    if version < task.format_version:
        return (f"its metadata file has format {version}, this imagesets writes format "
                f"{task.format_version}")
    if Path(record.data_dir) != data_dir:
        return f"the data dir changed from {record.data_dir} to {data_dir}"
    wanted = task.output_parameters(options)
    changed = [k for k, v in wanted.items() if record.parameters.get(k, _MISSING) != v]
    if changed:
        return "options changed: " + ", ".join(
            f"{k} {record.parameters.get(k)!r} -> {wanted[k]!r}" for k in changed)
    if entry.inputs is not None and entry.inputs(data_dir, options) != record.inputs:
        if not record.inputs:
            return "no stamp of its input files was recorded (prepared by an older imagesets)"
        return f"the files in {data_dir} changed since it was prepared"
    return None


def load(name: str, task: str | None = None, data_dir: PathLike | None = None,
         verbose: bool = True, home: PathLike | None = None, **options: Any) -> Any:
    """Open a prepared dataset task, preparing it first if needed (a second call does no work).

    ``data_dir`` is where the dataset's files are (remembered after the first call); ``home``
    overrides the data home (default ``$IMAGESETS_HOME`` or the platform's user data folder).
    Options left out take their declared defaults (`imagesets prepare --help` lists them).
    The task is rebuilt, saying why, when its input files changed (a cheap check of folder and
    file stats on every call), when an option that changes the output differs from the
    recorded one, or when its metadata file has an older format.
    """
    return _build(name, task, data_dir, verbose, Registry(home), options, force=False)


def process(name: str, task: str | None = None, data_dir: PathLike | None = None,
            verbose: bool = True, home: PathLike | None = None, **options: Any) -> Any:
    """Rebuild a task's metadata from the data directory, then open it (CLI: ``--force``)."""
    return _build(name, task, data_dir, verbose, Registry(home), options, force=True)


def remove(name: str, task: str | None = None, delete_data: bool = False,
           home: PathLike | None = None) -> list[PreparedTask]:
    """Forget a task (or every task of a dataset) and delete its metadata files.

    With ``delete_data=True`` the dataset's data directory is deleted too (only when the whole
    dataset is removed).
    """
    entry = get_entry(name)
    registry = Registry(home)
    task = None if task is None else entry.resolve_task(task)
    data_dir = registry.data_dir(entry.name)
    removed = registry.remove(entry.name, task)
    for record in removed:
        Path(record.metadata_file).unlink(missing_ok=True)
    if delete_data and task is None and data_dir:
        shutil.rmtree(data_dir, ignore_errors=True)
    return removed


def download(name: str, data_dir: PathLike | None = None, verbose: bool = True,
             home: PathLike | None = None, **options: Any) -> Path:
    """Download a downloadable dataset's files into ``data_dir`` and remember where they are.

    ``workers=N`` (CLI ``--workers``) downloads N files at once (``n_jobs``, the published
    spelling, is accepted too)."""
    entry = get_entry(name)
    if entry.download is None:
        raise ImagesetsError(f"'{entry.name}' cannot be downloaded by imagesets.\n{entry.setup}")
    registry = Registry(home)
    folder = _resolve_data_dir(entry.name, data_dir, registry)
    if "workers" in options:
        options["n_jobs"] = options.pop("workers")
    result = entry.download(folder, verbose=verbose, **options)
    registry.set_data_dir(entry.name, folder)
    return Path(result) if result is not None else folder


def list_datasets(home: PathLike | None = None) -> list[dict[str, Any]]:
    """One row per catalog dataset: name, keywords, downloadable, tasks, what is prepared."""
    registry = Registry(home)
    prepared: dict[str, list[str]] = {}
    for record in registry.prepared():
        prepared.setdefault(record.dataset, []).append(record.task)
    return [{
        "name": e.name,
        "keywords": ", ".join(e.keywords),
        "downloadable": "yes" if e.downloadable else "no",
        "tasks": ", ".join(f"{t}*" if t == e.default_task else t for t in e.task_names),
        "prepared": ", ".join(prepared.get(e.name, [])),
    } for e in entries()]


def info(name: str | None = None, home: PathLike | None = None) -> dict[str, Any]:
    """A dataset's catalog entry and prepared tasks; without a name, the whole catalog."""
    registry = Registry(home)
    if name is None:
        return {"data_home": str(registry.home), "datasets": list_datasets(home)}
    entry = get_entry(name)
    summary = entry.summary()
    summary["data_dir"] = registry.data_dir(entry.name)
    summary["prepared"] = {r.task: {"metadata_file": r.metadata_file, "created": r.created,
                                    "parameters": dict(r.parameters), "fingerprint": r.fingerprint}
                           for r in registry.prepared() if r.dataset == entry.name}
    return summary
