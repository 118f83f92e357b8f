"""Independent CPU-bound jobs (trainings, scenario runs) over worker processes, with one progress bar.

A DQN of this size gains nothing from torch's intra-op threads, so each worker runs torch on one
thread and the jobs themselves fill the cores. Workers are spawned (not forked): a forked torch
with live OpenMP threads may hang. ``jobs=1`` runs everything in this process, in order.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
R = TypeVar("R")


def default_jobs() -> int:
    """One job per core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _one_thread() -> None:
    """Worker start: torch (imported now or later) runs its operators on one thread."""
    os.environ["OMP_NUM_THREADS"] = "1"
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def run_jobs(
    fn: Callable[[T], R], items: Sequence[T], *, jobs: int, desc: str, unit: str, progress: bool = True
) -> list[R]:
    """``[fn(item) for item in items]`` on ``jobs`` processes; results in the order of ``items``.

    ``fn`` must be a module-level function and ``items`` picklable. The first failure is raised once
    the jobs already running have ended; queued ones are cancelled.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    bar = tqdm(total=len(items), desc=desc, unit=unit, disable=not progress)
    if jobs == 1 or len(items) <= 1:
        out = []
        for item in items:
            out.append(fn(item))
            bar.update()
        bar.close()
        return out
    results: dict[int, R] = {}
    workers = min(jobs, len(items))
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_one_thread) as pool:
        futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
        try:
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                bar.update()
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
        finally:
            bar.close()
    return [results[i] for i in range(len(items))]
