"""Independent jobs over worker processes: results in order, failures raised, one process when asked."""

from __future__ import annotations

import os

import pytest

from dvfo_core.jobs import default_jobs, run_jobs


def square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x


def test_results_come_back_in_the_order_of_the_items_from_worker_processes() -> None:
    out = run_jobs(square_and_pid, list(range(8)), jobs=2, desc="t", unit="job", progress=False)
    assert [sq for sq, _ in out] == [x * x for x in range(8)]
    assert os.getpid() not in {pid for _, pid in out}


def test_one_job_runs_in_this_process() -> None:
    out = run_jobs(square_and_pid, [1, 2, 3], jobs=1, desc="t", unit="job", progress=False)
    assert out == [(1, os.getpid()), (4, os.getpid()), (9, os.getpid())]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failing_job_raises_its_own_error(jobs: int) -> None:
    with pytest.raises(ValueError, match="three"):
        run_jobs(fail_on_three, [1, 2, 3, 4], jobs=jobs, desc="t", unit="job", progress=False)


def test_jobs_must_be_positive_and_default_to_the_usable_cores() -> None:
    with pytest.raises(ValueError, match="jobs must be >= 1"):
        run_jobs(square_and_pid, [1], jobs=0, desc="t", unit="job", progress=False)
    assert default_jobs() == len(os.sched_getaffinity(0))
