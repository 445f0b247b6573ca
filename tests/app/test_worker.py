"""The one worker mechanism: progress, partial results, cancel, errors, latest-request-wins."""

from __future__ import annotations

import logging
import time

import pytest

from engine.errors import FathomInputError

pytestmark = pytest.mark.gui


@pytest.fixture
def manager(qtbot):
    from app.worker import TaskManager

    manager = TaskManager()
    yield manager
    assert manager.shutdown(timeout_s=10)


def _counting_job(context, n, delay=0.01):
    for k in range(n):
        time.sleep(delay)
        context.progress((k + 1) / n, f"step {k + 1}")
        context.partial(k)
    return "done"


def test_task_delivers_progress_partials_and_result_in_the_gui_thread(qtbot, manager):
    import threading

    progress, partials, results = [], [], []
    gui_thread = threading.get_ident()
    threads = set()
    task = manager.run("count", _counting_job, 5, delay=0.06)
    task.progressed.connect(lambda f, m: (progress.append(f), threads.add(threading.get_ident())))
    task.partial.connect(partials.append)
    task.succeeded.connect(results.append)
    with qtbot.waitSignal(task.finished, timeout=10_000):
        pass
    assert results == ["done"] and task.state == "succeeded"
    assert partials == [0, 1, 2, 3, 4]
    assert progress and progress[-1] == 1.0
    assert threads == {gui_thread}


def test_cancel_stops_the_job_at_its_next_checkpoint(qtbot, manager):
    steps = []

    def endless(context):
        while True:
            time.sleep(0.01)
            steps.append(1)
            context.progress(0.5, "working")

    task = manager.run("endless", endless)
    succeeded = []
    task.succeeded.connect(succeeded.append)
    qtbot.waitUntil(lambda: len(steps) > 3, timeout=5000)
    with qtbot.waitSignal(task.cancelled, timeout=5000):
        task.cancel()
    qtbot.waitUntil(lambda: task.wait(0), timeout=5000)
    count = len(steps)
    time.sleep(0.1)
    assert len(steps) == count and not succeeded and task.state == "cancelled"


def test_input_error_is_one_sentence_and_unexpected_error_goes_to_the_log(qtbot, manager, tmp_path):
    from app.logs import log_file_path, setup_logging

    setup_logging()

    def bad_input(context):
        raise FathomInputError("the flats are darker than the darks: swap the two files")

    def bug(context):
        raise ZeroDivisionError("division by zero")

    task = manager.run("check", bad_input)
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        pass
    assert blocker.args == ["The flats are darker than the darks: swap the two files."]
    task = manager.run("compute", bug)
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        pass
    message = blocker.args[0]
    assert "ZeroDivisionError" in message and "log" in message and "Traceback" not in message
    for handler in logging.getLogger("fathom").handlers:
        handler.flush()
    assert "Traceback" in log_file_path().read_text()


def _slow_job(started: list, seconds: float):
    """A job that notes its value in ``started``, then takes ``seconds`` (cancellable)."""
    def slow(context, value):
        started.append(value)
        for _ in range(int(seconds / 0.01)):
            time.sleep(0.01)
            context.progress(0.5)
        return value
    return slow


def test_preview_lane_runs_only_the_newest_request(qtbot, manager):
    from app.worker import PreviewLane

    lane = PreviewLane(manager, "preview")
    started, results = [], []
    slow = _slow_job(started, 0.3)
    for value in range(6):
        lane.submit(slow, value, on_result=results.append)
    qtbot.waitUntil(lambda: not lane.busy, timeout=10_000)
    assert results == [5]
    assert started[-1] == 5 and len(started) <= 2  # at most one stale request ever ran


def test_a_preview_lane_reports_a_cancel_but_not_a_superseded_request(qtbot, manager):
    from app.worker import PreviewLane

    lane = PreviewLane(manager, "preview")
    started, cancelled, results = [], [], []
    slow = _slow_job(started, 2.0)
    lane.submit(slow, 0, on_result=results.append, on_cancelled=lambda: cancelled.append(0))
    lane.submit(slow, 1, on_result=results.append, on_cancelled=lambda: cancelled.append(1))
    qtbot.waitUntil(lambda: 1 in started, timeout=10_000)
    assert cancelled == []  # request 0 gave way to request 1: nothing to report
    lane.cancel()
    qtbot.waitUntil(lambda: not lane.busy, timeout=10_000)
    assert cancelled == [1] and results == []


def test_eta_is_extrapolated_from_progress():
    from app.worker import Task, format_eta

    task = Task("x", lambda c: None)
    task.state, task.fraction = "running", 0.25
    task.started_at = time.perf_counter() - 3.0
    assert task.eta_seconds() == pytest.approx(9.0, abs=0.2)
    assert format_eta(9.2) == "0:09 left" and format_eta(3725) == "1:02:05 left" and format_eta(None) == ""


def test_a_committed_job_finishes_and_an_uncommitted_one_never_writes(qtbot, manager, tmp_path):
    written = tmp_path / "out.txt"

    def job(context, commit_after: int):
        for k in range(100):
            time.sleep(0.01)
            context.progress(k / 100)
            if k == commit_after:
                context.commit()  # from here on: the output is written whatever happens
                written.write_text("complete")
                return "written"
        return "not reached"

    late = manager.run("write", job, 3)
    qtbot.waitUntil(lambda: late.context.committed or not late.is_active, timeout=5000)
    late.cancel()  # too late: it is writing
    qtbot.waitUntil(lambda: not late.is_active, timeout=5000)
    assert late.state == "succeeded" and written.read_text() == "complete"
    written.unlink()

    early = manager.run("write", job, 80)
    qtbot.waitUntil(lambda: early.fraction > 0.05, timeout=5000)
    with qtbot.waitSignal(early.finished, timeout=5000):
        early.cancel()
    assert early.state == "cancelled" and not written.exists()
