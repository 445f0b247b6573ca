"""The one way the app runs engine calls: off the GUI thread, with progress, cancel and errors.

Every engine call the window makes goes through :class:`TaskManager.run` (or a
:class:`PreviewLane` for previews). A :class:`Task` wraps a plain function ``job(context, ...)``
in a superqt ``FunctionWorker`` on Qt's thread pool. The job receives a :class:`TaskContext`
whose ``progress`` and ``cancel`` go straight into the engine (``progress(fraction, message)``
and an engine :class:`~engine.progress.CancelToken`), and whose ``partial`` hands intermediate
results (a finished slab, an iteration) back to the GUI. The worker thread only emits signals;
the GUI thread only paints.

Errors never reach the user as tracebacks: :func:`describe_error` turns an exception into one
sentence (a :class:`~engine.errors.FathomInputError` carries its own), and the traceback goes
to the log. A cancelled task ends with ``cancelled``, never ``succeeded``, so nothing it made is
used.

Previews use "latest request wins": a :class:`PreviewLane` runs one task at a time; a new
request cancels the running one and replaces any request still waiting, so a burst of edits
costs at most one stale preview that stops at its next checkpoint.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal
from superqt.utils import create_worker

from engine.errors import FathomInputError
from engine.progress import Cancelled, CancelToken

log = logging.getLogger("fathom.app.worker")

# How often a worker may send progress to the GUI thread: 10 per second is smooth; more only repaints.
_PROGRESS_INTERVAL_S = 0.1


def describe_error(exc: BaseException, task_name: str = "") -> str:
    """One sentence for the window: what went wrong and what to do."""
    if isinstance(exc, FathomInputError):
        text = str(exc).strip()
        return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
    where = f" during {task_name}" if task_name else ""
    if isinstance(exc, MemoryError):
        return (f"Not enough memory{where}: reconstruct a smaller region, use a larger voxel size, "
                "or close other programs.")
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc)
        name = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return f"A file could not be read or written{where}{name}: {reason}. Check the path and permissions."
    return (f"Unexpected error{where} ({type(exc).__name__}: {exc}). "
            "The details are in the log (View ▸ Log).")


def format_eta(seconds: float | None) -> str:
    """``"0:42 left"`` style text, or ``""`` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return ""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d} left"
    return f"{seconds // 60}:{seconds % 60:02d} left"


_WORKER_NICENESS = 10


def _yield_to_the_gui() -> None:
    """Run this worker thread (and the compute threads it starts) below the GUI's priority.

    On Linux niceness is per thread and inherited by threads created later, so Numba's OpenMP
    team started from here runs nice too: the GUI thread and the X server get the CPU first and
    the window stays responsive even with every core busy; an idle machine loses nothing.
    """
    import os

    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return
    try:
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        if current < _WORKER_NICENESS:
            os.setpriority(os.PRIO_PROCESS, tid, _WORKER_NICENESS)
    except OSError:  # not permitted here: run at normal priority
        pass


class TaskContext:
    """What a job sees of its task: progress, cancellation and a way to send partial results.

    Safe to use from the worker thread (signals are emitted, never widgets touched).
    """

    def __init__(self, signals: _TaskSignals, cancel: CancelToken) -> None:
        self._signals = signals
        self.cancel = cancel
        self.committed = False
        self._last = 0.0

    def commit(self) -> None:
        """From here on the job finishes (e.g. it writes its output): Cancel no longer stops it.

        Raises :class:`Cancelled` if cancel was asked for before this point, so a cancelled run
        never starts writing.
        """
        if self.cancel.cancelled:
            raise Cancelled("cancelled before the output was written")
        self.committed = True

    def progress(self, fraction: float, message: str = "") -> None:
        """Engine-style progress callback; also stops the job when cancel was requested."""
        if self.cancel.cancelled and not self.committed:
            raise Cancelled(message or "cancelled")
        now = time.perf_counter()
        if fraction >= 1.0 or now - self._last >= _PROGRESS_INTERVAL_S:
            self._last = now
            self._signals.progressed.emit(float(fraction), str(message))

    def partial(self, value: Any) -> None:
        """Send an intermediate result to the GUI thread (a slab, an iteration)."""
        if not self.cancel.cancelled:
            self._signals.partial.emit(value)


class _TaskSignals(QObject):
    # Emitted from the worker thread; received in the GUI thread (queued connections).
    progressed = Signal(float, str)
    partial = Signal(object)
    outcome = Signal(str, object)


class Task(QObject):
    """One engine job running on the thread pool.

    Signals (all delivered in the GUI thread): ``progressed(fraction, message)``,
    ``partial(value)``, then exactly one of ``succeeded(result)``, ``failed(message)``,
    ``cancelled()``, and finally ``finished()``.
    """

    progressed = Signal(float, str)
    partial = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, name: str, job: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.name = name
        self.token = CancelToken()
        self.state = "pending"  # pending, running, succeeded, failed, cancelled
        self.fraction = 0.0
        self.message = ""
        self.error: str | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self._signals = _TaskSignals()
        self._signals.progressed.connect(self._on_progress)
        self._signals.partial.connect(self._on_partial)
        self._signals.outcome.connect(self._on_outcome)
        self._job, self._args, self._kwargs = job, args, kwargs
        self.context = TaskContext(self._signals, self.token)
        self._worker = None
        self._done = threading.Event()

    # -- control (GUI thread) -------------------------------------------------------------------
    def start(self) -> Task:
        self.state = "running"
        self.started_at = time.perf_counter()
        log.info("%s started", self.name)
        self._worker = create_worker(self._body, _start_thread=False, _ignore_errors=True)
        self._worker.start()
        return self

    def cancel(self) -> None:
        """Ask the job to stop at its next checkpoint; its result will not be used.

        Too late once the job has committed (it is writing its output): it then finishes.
        """
        if self.context.committed:
            log.info("%s: cancel ignored, the output is being written", self.name)
            return
        if self.state in ("pending", "running") and not self.token.cancelled:
            log.info("%s: cancel requested", self.name)
            self.token.cancel()

    @property
    def is_active(self) -> bool:
        return self.state in ("pending", "running")

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.perf_counter()) - self.started_at

    def eta_seconds(self) -> float | None:
        """Seconds left, extrapolated from the progress so far (None until it means something)."""
        if self.state != "running" or self.fraction < 0.02 or self.elapsed < 0.5:
            return None
        return self.elapsed * (1.0 - self.fraction) / self.fraction

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the job body returned (for shutdown and tests)."""
        return self._done.wait(timeout_s)

    # -- the worker thread ----------------------------------------------------------------------
    def _body(self) -> None:
        _yield_to_the_gui()
        context = self.context
        try:
            if self.token.cancelled:
                raise Cancelled("cancelled before it started")
            result = self._job(context, *self._args, **self._kwargs)
            if self.token.cancelled and not context.committed:
                raise Cancelled("cancelled")
            self._signals.outcome.emit("succeeded", result)
        except Cancelled:
            self._signals.outcome.emit("cancelled", None)
        except FathomInputError as exc:
            log.warning("%s: %s", self.name, exc)
            self._signals.outcome.emit("failed", describe_error(exc, self.name))
        except BaseException as exc:  # noqa: BLE001 - every failure becomes one message + the log
            log.exception("%s failed", self.name)
            self._signals.outcome.emit("failed", describe_error(exc, self.name))
        finally:
            self._done.set()

    # -- back in the GUI thread -----------------------------------------------------------------
    def _on_progress(self, fraction: float, message: str) -> None:
        if self.state != "running":
            return
        self.fraction, self.message = fraction, message
        self.progressed.emit(fraction, message)

    def _on_partial(self, value: Any) -> None:
        if self.state == "running" and not self.token.cancelled:
            self.partial.emit(value)

    def _on_outcome(self, outcome: str, value: Any) -> None:
        self.finished_at = time.perf_counter()
        if outcome == "succeeded" and self.token.cancelled and not self.context.committed:
            outcome = "cancelled"
        self.state = outcome
        log.info("%s %s after %.2f s", self.name, outcome, self.elapsed)
        if outcome == "succeeded":
            self.fraction = 1.0
            self.succeeded.emit(value)
        elif outcome == "failed":
            self.error = value
            self.failed.emit(value)
        else:
            self.cancelled.emit()
        self.finished.emit()
        self._worker = None


class TaskManager(QObject):
    """Starts tasks, keeps them alive while they run, and knows what is running.

    ``taskStarted(task)`` lets the status bar show every foreground task's progress.
    """

    taskStarted = Signal(object)
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: set[Task] = set()
        self.closing = False
        # Previews and a long run may overlap; two threads per core is plenty.
        pool = QThreadPool.globalInstance()
        pool.setMaxThreadCount(max(pool.maxThreadCount(), 4))

    def run(self, name: str, job: Callable[..., Any], *args: Any, foreground: bool = True,
            **kwargs: Any) -> Task:
        """Start ``job(context, *args, **kwargs)`` in a worker; returns the running Task."""
        task = Task(name, job, *args, **kwargs)
        if self.closing:
            task.token.cancel()  # the window is closing: the task ends at once, cancelled
        self._adopt(task, foreground)
        return task.start()

    def _adopt(self, task: Task, foreground: bool) -> None:
        was_busy = self.busy
        self._tasks.add(task)
        task.finished.connect(lambda t=task: self._release(t))
        if foreground:
            self.taskStarted.emit(task)
        if not was_busy:
            self.busyChanged.emit(True)

    def _release(self, task: Task) -> None:
        self._tasks.discard(task)
        if not self.busy:
            self.busyChanged.emit(False)

    @property
    def busy(self) -> bool:
        return any(t.is_active for t in self._tasks)

    def active(self) -> list[Task]:
        return [t for t in self._tasks if t.is_active]

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def shutdown(self, timeout_s: float = 10.0) -> bool:
        """Cancel everything and wait for the worker threads (before the application quits)."""
        self.closing = True
        self.cancel_all()
        deadline = time.perf_counter() + timeout_s
        ok = all(t.wait(max(0.0, deadline - time.perf_counter())) for t in list(self._tasks))
        remaining_ms = int(max(0.0, deadline - time.perf_counter()) * 1000)
        return QThreadPool.globalInstance().waitForDone(remaining_ms) and ok


class PreviewLane(QObject):
    """Latest request wins: one preview task at a time, stale ones cancelled and dropped.

    ``submit`` cancels the running task and keeps only the newest waiting request; it starts
    as soon as the cancelled one has stopped (so two previews never compete for the CPU or
    share a half-updated object). Results of superseded tasks are never delivered, nor is their
    cancellation: ``on_cancelled`` runs only when a task was cancelled with nothing after it.
    """

    def __init__(self, manager: TaskManager, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._manager = manager
        self.name = name
        self.current: Task | None = None
        self._waiting: tuple | None = None

    def submit(self, job: Callable[..., Any], *args: Any, on_result: Callable[[Any], None] | None = None,
               on_partial: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None,
               on_cancelled: Callable[[], None] | None = None,
               foreground: bool = False, **kwargs: Any) -> None:
        self._waiting = (job, args, kwargs, on_result, on_partial, on_error, on_cancelled, foreground)
        if self.current is not None and self.current.is_active:
            self.current.cancel()
        else:
            self._start_waiting()

    def cancel(self) -> None:
        self._waiting = None
        if self.current is not None:
            self.current.cancel()

    @property
    def busy(self) -> bool:
        return self._waiting is not None or (self.current is not None and self.current.is_active)

    def _start_waiting(self) -> None:
        if self._waiting is None or self._manager.closing:
            self._waiting = None
            return
        job, args, kwargs, on_result, on_partial, on_error, on_cancelled, foreground = self._waiting
        self._waiting = None
        task = Task(self.name, job, *args, **kwargs)
        if on_result is not None:
            task.succeeded.connect(on_result)
        if on_partial is not None:
            task.partial.connect(on_partial)
        if on_error is not None:
            task.failed.connect(on_error)
        if on_cancelled is not None:
            task.cancelled.connect(lambda: on_cancelled() if self._waiting is None else None)
        task.finished.connect(self._on_finished)
        self.current = task
        self._manager._adopt(task, foreground)
        task.start()

    def _on_finished(self) -> None:
        self._start_waiting()
