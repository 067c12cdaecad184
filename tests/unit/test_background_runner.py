"""The portal's worker thread: a stopping portal waits for the flow on it, but not forever."""

from __future__ import annotations

import time

from remiss.web.trigger import BackgroundRunner


def test_a_stop_waits_until_the_queued_work_has_run() -> None:
    done: list[int] = []

    def work(item: int) -> None:
        time.sleep(0.3)
        done.append(item)

    runner = BackgroundRunner(work)
    runner(1)
    runner(2)

    assert runner.wait_idle(5)
    assert done == [1, 2]


def test_a_stop_waits_no_longer_than_it_is_given() -> None:
    runner: BackgroundRunner[int] = BackgroundRunner(lambda _item: time.sleep(2))
    runner(1)
    started = time.monotonic()

    assert not runner.wait_idle(0.2)
    assert time.monotonic() - started < 1


def test_an_idle_runner_is_idle_at_once() -> None:
    runner: BackgroundRunner[int] = BackgroundRunner(lambda _item: None)
    assert runner.wait_idle(0)
