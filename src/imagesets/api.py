"""The public API: load, process, remove, download, list_datasets, info."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .catalog import PreparedTask, PrepareRequest, Registry, entries, get_entry
from .downloads.manifest import MANIFEST_NAME, DownloadManifest
from .errors import ImagesetsError, NotFoundError
from .fsutil import remove_stale_temps

PathLike = str | os.PathLike


def _resolve_data_dir(name: str, data_dir: PathLike | None, registry: Registry) -> Path:
    chosen = data_dir if data_dir is not None else registry.data_dir(name)
    if chosen is None:
        raise NotFoundError(
            f"no data directory is known for '{name}': pass data_dir=... (CLI: --data-dir PATH); "
            f"`imagesets info {name}` says how to get and lay out its files")
    return Path(chosen).expanduser().resolve()


def _build(name: str, task: str, data_dir: PathLike | None, verbose: bool, registry: Registry,
           options: dict[str, Any], reuse: bool) -> Any:
    entry = get_entry(name)
    entry.check_options(task, options)
    folder = _resolve_data_dir(entry.name, data_dir, registry)
    with registry.task_lock(entry.name, task):
        remove_stale_temps(registry.metadata_dir(entry.name), task)
        if reuse:
            current = registry.get(entry.name, task)
            if _reusable(current, folder, options):
                return entry.open(current)
        request = PrepareRequest(entry.name, task, folder, registry.metadata_dir(entry.name),
                                 verbose, options)
        prepared = registry.record(entry.prepare(request))
    if verbose:
        print(f"{entry.name}/{task}: metadata written to {prepared.metadata_file}")
    return entry.open(prepared)


def _reusable(record: PreparedTask | None, data_dir: Path | None, options: dict[str, Any]) -> bool:
    return (record is not None and Path(record.metadata_file).exists()
            and (data_dir is None or Path(record.data_dir) == data_dir)
            and all(record.parameters.get(k) == v for k, v in options.items()))


def _plain(value: Any) -> Any:
    """An option as the registry's JSON stores it (paths as strings, tuples as lists)."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return list(value) if isinstance(value, tuple) else value


def _plain_options(options: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(value) for key, value in options.items()}


def load(name: str, task: str | None = None, data_dir: PathLike | None = None,
         verbose: bool = True, home: PathLike | None = None, **options: Any) -> Any:
    """Open a prepared dataset task, preparing it first if needed (a second call does no work).

    ``data_dir`` is where the dataset's files are (remembered after the first call); ``home``
    overrides the data home (default ``$IMAGESETS_HOME`` or the platform's user data folder).
    """
    entry = get_entry(name)
    task = entry.resolve_task(task)
    registry = Registry(home)
    folder = None if data_dir is None else Path(data_dir).expanduser().resolve()
    record = registry.get(entry.name, task)
    options = _plain_options(options)
    if _reusable(record, folder, options):
        return entry.open(record)
    return _build(entry.name, task, data_dir, verbose, registry, options, reuse=True)


def process(name: str, task: str | None = None, data_dir: PathLike | None = None,
            verbose: bool = True, home: PathLike | None = None, **options: Any) -> Any:
    """Rebuild a task's metadata from the data directory, then open it."""
    entry = get_entry(name)
    return _build(entry.name, entry.resolve_task(task), data_dir, verbose, Registry(home),
                  _plain_options(options), reuse=False)


def downloaded_files(name: str, home: PathLike | None = None) -> list[Path]:
    """The files imagesets downloaded for dataset ``name`` that are still in its data folder
    (from the folder's download manifest): what ``remove(..., delete_data=True)`` deletes.

    Raises an :class:`ImagesetsError` saying why when nothing may be deleted: the dataset is
    not downloadable (the user provided its files), no data folder is known, or the folder
    has no download manifest.
    """
    entry = get_entry(name)
    if not entry.downloadable:
        raise ImagesetsError(f"not deleting {entry.name}'s data: its files were provided by you "
                             f"and imagesets cannot download them again; delete them yourself "
                             f"if you mean to")
    data_dir = Registry(home).data_dir(entry.name)
    if data_dir is None:
        raise NotFoundError(f"not deleting data: no data folder is known for {entry.name}")
    folder = Path(data_dir)
    manifest = DownloadManifest(folder)
    recorded = manifest.read()
    if not recorded:
        raise ImagesetsError(f"not deleting data in {folder}: imagesets downloaded nothing "
                             f"there (no {manifest.path.name}), so its files are yours")
    root = folder.resolve()
    return [folder / rel for rel in sorted(recorded)
            if (folder / rel).is_file() and (folder / rel).resolve().is_relative_to(root)]


def _delete_downloaded(folder: Path, files: list[Path]) -> None:
    """Delete ``files``, forget manifest entries of files no longer there, drop folders this
    left empty."""
    manifest = DownloadManifest(folder)
    for path in files:
        path.unlink(missing_ok=True)
    manifest.update({rel: None for rel in manifest.read() if not (folder / rel).is_file()})
    if not manifest.read():
        manifest.path.unlink(missing_ok=True)
        (folder / f"{MANIFEST_NAME}.lock").unlink(missing_ok=True)
    for parent in sorted({p for f in files for p in f.parents if folder in p.parents},
                         key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            parent.rmdir()
    with contextlib.suppress(OSError):
        folder.rmdir()


def remove(name: str, task: str | None = None, delete_data: bool = False,
           home: PathLike | None = None,
           confirm: bool | Callable[[list[Path]], bool] = False) -> list[PreparedTask]:
    """Forget a task (or every task of a dataset) and delete its metadata files.

    With ``delete_data=True`` (whole dataset only) the files imagesets downloaded, as its
    download manifest records them (:func:`downloaded_files`), are deleted too; nothing else
    in the folder is touched. ``confirm`` must then be ``True`` or a function that gets the
    files and returns whether to delete them; otherwise nothing is done.
    """
    entry = get_entry(name)
    registry = Registry(home)
    task = None if task is None else entry.resolve_task(task)
    if delete_data:
        if task is not None:
            raise ImagesetsError("delete_data removes a whole dataset's downloads; "
                                 "leave out the task (CLI: --task)")
        files = downloaded_files(entry.name, home)
        approved = confirm(files) if callable(confirm) else confirm
        if not approved:
            raise ImagesetsError(f"nothing removed: deleting {len(files)} downloaded file(s) of "
                                 f"{entry.name} was not confirmed (CLI: --yes; API: "
                                 f"confirm=True)")
        folder = Path(registry.data_dir(entry.name))
    removed = registry.remove(entry.name, task)
    for record in removed:
        Path(record.metadata_file).unlink(missing_ok=True)
    if delete_data:
        _delete_downloaded(folder, files)
    return removed


def download(name: str, data_dir: PathLike | None = None, verbose: bool = True,
             home: PathLike | None = None, **options: Any) -> Path:
    """Download a downloadable dataset's files into ``data_dir`` and remember where they are."""
    entry = get_entry(name)
    if entry.download is None:
        raise ImagesetsError(f"'{entry.name}' cannot be downloaded by imagesets.\n{entry.setup}")
    registry = Registry(home)
    folder = _resolve_data_dir(entry.name, data_dir, registry)
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
