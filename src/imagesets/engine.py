"""Run one function over many items in local processes or as Ray tasks; collect the failures.

Knows no dataset. The function must be importable (module level) and do its own durable work
per item (e.g. write one file atomically), so an interrupted run loses only the items in
flight; its exceptions are recorded per item and the run goes on.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from .catalog import Option
from .errors import ImagesetsError, InvalidDataError, require

ENGINES = ("local", "ray")

ENGINE_OPTIONS = (
    Option("workers", "parallel worker processes (default: all cores)", type=int, minimum=1,
           changes_output=False),
    Option("engine", "run the work in local processes or as Ray tasks (default: local, ray "
           "with --ray-address)", choices=ENGINES, changes_output=False),
    Option("address", "with --engine ray: an existing cluster (e.g. auto, ray://head:10001)",
           flag="--ray-address", changes_output=False, metavar="ADDRESS"),
)
"""How a task runs its work items (never what it writes): the options of every engine task."""
IN_FLIGHT_PER_WORKER = 2
MAX_CHUNK = 32


@dataclass(frozen=True)
class Failure:
    """An item whose function raised, with ``ExceptionType: message``."""

    item: Any
    error: str


@dataclass
class RunResult:
    """What a run did: results of the items that worked, failures of the others."""

    results: list[Any] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0
    engine: str = "local"

    @property
    def items_per_second(self) -> float:
        done = len(self.results) + len(self.failures)
        return done / self.seconds if self.seconds > 0 else 0.0


def default_workers() -> int:
    """The CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def check_options(engine: str, workers: int | None) -> None:
    """Raise a clear error for an unknown engine or a worker count below 1."""
    if engine not in ENGINES:
        raise InvalidDataError(f"unknown engine '{engine}'; choose one of {', '.join(ENGINES)}")
    if workers is not None and workers < 1:
        raise InvalidDataError(f"workers must be at least 1, got {workers}")


def run_chunk(function: Callable[[Any], Any], chunk: Sequence[Any]) -> list[tuple[bool, Any]]:
    """Apply ``function`` to each item: ``(True, result)`` or ``(False, "Type: message")``."""
    outcomes: list[tuple[bool, Any]] = []
    for item in chunk:
        try:
            outcomes.append((True, function(item)))
        except Exception as exc:
            outcomes.append((False, f"{type(exc).__name__}: {exc}"))
    return outcomes


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _chunk_size(count: int, workers: int) -> int:
    return max(1, min(MAX_CHUNK, count // (workers * 8) or 1))


def _drive(chunks: Iterator[list[Any]], submit: Callable[[list[Any]], Any],
           wait: Callable[[set], tuple[Iterable, set]], result: Callable[[Any], Any],
           in_flight: int) -> Iterator[tuple[list[Any], list[tuple[bool, Any]]]]:
    """Keep ``in_flight`` chunks submitted; yield (chunk, outcomes) as each one finishes."""
    pending: dict[Any, list[Any]] = {}

    def fill() -> None:
        while len(pending) < in_flight:
            chunk = next(chunks, None)
            if chunk is None:
                return
            pending[submit(chunk)] = chunk

    fill()
    while pending:
        done, _ = wait(set(pending))
        for handle in done:
            yield pending.pop(handle), result(handle)
        fill()


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _local_context() -> multiprocessing.context.BaseContext:
    """``fork`` on Linux: scripts and notebooks need no ``__main__`` guard (macOS: spawn)."""
    return multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")


def _run_local(function: Callable[[Any], Any], chunks: Iterator[list[Any]], workers: int,
               collect: Callable[[list[Any], list[tuple[bool, Any]]], None]) -> None:
    executor = cf.ProcessPoolExecutor(max_workers=workers, mp_context=_local_context(),
                                      initializer=_ignore_sigint)
    try:
        for chunk, outcomes in _drive(
                chunks, lambda c: executor.submit(run_chunk, function, c),
                lambda p: cf.wait(p, return_when=cf.FIRST_COMPLETED),
                lambda f: f.result(), workers * IN_FLIGHT_PER_WORKER):
            collect(chunk, outcomes)
    except cf.process.BrokenProcessPool as exc:
        raise ImagesetsError(
            "a worker process died (killed, or out of memory); finished items are kept: rerun "
            "the same command to resume (with fewer workers if memory is short)") from exc
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _run_ray(function: Callable[[Any], Any], chunks: Iterator[list[Any]], workers: int | None,
             address: str | None,
             collect: Callable[[list[Any], list[tuple[bool, Any]]], None]) -> int:
    ray = require("ray", "ray", "--engine ray")
    started = not ray.is_initialized()
    if started:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no telemetry unless opted in
        if address:
            ray.init(address=address, logging_level=logging.WARNING)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.WARNING)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        remote = ray.remote(num_cpus=1, max_retries=3)(run_chunk)

        def wait(pending: set) -> tuple[list, set]:
            ready, _ = ray.wait(list(pending), num_returns=1)
            return ready, pending - set(ready)

        try:
            for chunk, outcomes in _drive(chunks, lambda c: remote.remote(function, c), wait,
                                          ray.get, (workers or cpus) * IN_FLIGHT_PER_WORKER):
                collect(chunk, outcomes)
        except ray.exceptions.RayError as exc:
            raise ImagesetsError(
                f"a Ray task failed beyond its retries ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}); finished items are kept: "
                "rerun the same command to resume") from exc
        return workers or cpus
    finally:
        if started:
            ray.shutdown()


def run_items(function: Callable[[Any], Any], items: Sequence[Any], *, engine: str = "local",
              workers: int | None = None, address: str | None = None, desc: str = "",
              unit: str = "item", verbose: bool = True) -> RunResult:
    """Run ``function(item)`` for every item, in parallel; never stops on an item's error.

    ``engine="local"`` uses ``workers`` processes (default: all cores); ``engine="ray"`` sends
    chunks of items as Ray tasks to a local Ray instance (``workers`` CPUs) or to the cluster at
    ``address`` (e.g. ``"auto"`` or ``"ray://head:10001"``). Results come in completion order.
    """
    check_options(engine, workers)
    run = RunResult(engine=engine)
    started = time.perf_counter()
    planned = workers or default_workers()
    chunks = _chunks(items, _chunk_size(len(items), planned))
    with tqdm(total=len(items), desc=desc or None, unit=unit, disable=not verbose or not items,
              smoothing=0.05, dynamic_ncols=True) as bar:
        def collect(chunk: list[Any], outcomes: list[tuple[bool, Any]]) -> None:
            for item, (ok, value) in zip(chunk, outcomes, strict=True):
                if ok:
                    run.results.append(value)
                else:
                    run.failures.append(Failure(item, value))
            bar.update(len(chunk))
            if run.failures:
                bar.set_postfix(failed=len(run.failures), refresh=False)

        if not items:
            run.workers = 0
        elif engine == "local":
            run.workers = min(planned, len(items))
            _run_local(function, chunks, run.workers, collect)
        else:
            run.workers = _run_ray(function, chunks, workers, address, collect)
    run.seconds = time.perf_counter() - started
    return run
