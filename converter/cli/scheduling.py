"""Run :func:`converter.cli.file_runner.process` over the files, here or in a process pool, and
stop cleanly.

Stopping (Ctrl-C, SIGTERM, SIGHUP, or the main process killed) keeps four promises: every file is
either untouched or fully converted (writes are atomic and defer signals); every file that was
written is handed to ``accept``, so the summary names it; nothing hangs, however many signals
arrive; and no worker outlives the run (see ``_worker_signals``). The first signal raises
``KeyboardInterrupt``; later ones are ignored while the files in progress finish (each is bounded
by the parse budgets), so a second Ctrl-C cannot break the pool's shutdown half way.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Sequence

from converter import files
from converter.cli import file_runner, outcomes
from converter.signals import DEFERRED_SIGNALS, signals_deferred

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class StopSignals:
    """The handler for Ctrl-C, SIGTERM and SIGHUP in the main process: ``KeyboardInterrupt``
    once."""

    def __init__(self) -> None:
        self.received: int | None = None

    def __call__(self, signum: int, frame: object) -> None:
        if self.received is None:
            self.received = signum
            raise KeyboardInterrupt

    def finish(self) -> None:
        """The run is over: ignore these signals from now on, so that one arriving while the
        process exits cannot change its exit status or kill it half way through."""
        self.received = self.received or 0
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def install_stop_signals() -> StopSignals:
    handler = StopSignals()
    for sig in STOP_SIGNALS:
        signal.signal(sig, handler)
    return handler


def _worker_signals(parent: int) -> None:
    """Pool workers leave stopping to the main process, and never outlive it.

    Each worker takes a process group of its own, so that what a terminal or a supervisor sends
    to the run's group (Ctrl-C, SIGHUP, SIGTERM to the group) reaches the main process only: it
    lets the workers finish the files they hold, collects what they wrote, and shuts the pool
    down. They also ignore Ctrl-C and SIGHUP sent to them alone, and die on SIGTERM (the pool's
    own way to stop a worker; a write in progress completes first). Should the main process die
    without stopping them (SIGKILL), each gets SIGTERM (Linux's parent-death signal; elsewhere a
    thread that watches the parent).

    They are forked with these signals held (see ``_run_pool``), so that none reaches them while
    they still have the main process's handler; a signal held meanwhile is handled here, anew."""
    if hasattr(os, "setpgid"):
        try:
            os.setpgid(0, 0)
        except OSError:
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with(parent)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, DEFERRED_SIGNALS)


_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """SIGTERM to this process when ``parent`` is gone."""
    if not hasattr(signal, "SIGTERM"):
        return
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) == 0:
                if os.getppid() != parent:  # it died before the call: no signal would come
                    os.kill(os.getpid(), signal.SIGTERM)
                return
        except (OSError, AttributeError):
            pass
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="torch2lightning-parent-watch", daemon=True).start()


def run_all(
    sources: Sequence[files.Source],
    file_options: file_runner.Options,
    stdin_options: file_runner.Options,
    jobs: int,
    accept: Callable[[file_runner.Outcome], None],
    stop: StopSignals | None = None,
) -> None:
    """Process every source and hand each outcome to ``accept``, in input order.

    On ``KeyboardInterrupt`` the outcomes of every file written (or finished) are still accepted,
    out of order, before it propagates. ``accept`` may be handed an outcome twice: it keeps one.
    ``stop`` is checked after each file: a signal whose ``KeyboardInterrupt`` some code swallowed
    (``__del__``, a clean-up that raised another error) still stops the run there.
    """
    if jobs == 0:
        jobs = os.cpu_count() or 1
    on_disk = [s for s in sources if s.path is not None]
    try:
        if jobs <= 1 or len(on_disk) <= 1:
            for source in sources:
                accept(_process_here(source, file_options, stdin_options))
                _check(stop)
        else:
            _run_pool(sources, on_disk, file_options, stdin_options, jobs, accept, stop)
    except KeyboardInterrupt:
        for outcome in outcomes.written:  # written here, interrupted before it was returned
            accept(outcome)
        raise


def _process_here(
    source: files.Source, file_options: file_runner.Options, stdin_options: file_runner.Options
) -> file_runner.Outcome:
    if source.path is not None:
        return file_runner.process(source, file_options)
    try:
        data = files.read_at_most(sys.stdin.buffer)
    except files.ReadProblem as err:
        return file_runner.Outcome(
            source.display, file_runner.ERROR, message=f"{source.display}: {err}"
        )
    except OSError as err:
        message = f"{source.display}: cannot read: {err.strerror or err}"
        return file_runner.Outcome(source.display, file_runner.ERROR, message=message)
    return file_runner.process(source, stdin_options, stdin_data=data)


def _check(stop: StopSignals | None) -> None:
    if stop is not None and stop.received:
        raise KeyboardInterrupt


def _run_pool(sources, on_disk, file_options, stdin_options, jobs, accept, stop) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    # fork: workers inherit the converter loaded (and frozen) here instead of loading it each
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    if context.get_start_method() == "fork":
        file_runner.load_converter()
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(on_disk)),
        mp_context=context,
        initializer=_worker_signals,
        initargs=(os.getpid(),),
    )
    futures = {}
    handed: set[int] = set()  # sources whose outcome went to accept
    try:
        with signals_deferred():  # the workers are forked here (see _worker_signals)
            for source in on_disk:
                futures[id(source)] = pool.submit(
                    file_runner.process_in_worker, (source, file_options)
                )
        for source in sources:
            if source.path is None:
                accept(_process_here(source, file_options, stdin_options))
            else:
                accept(_result(futures[id(source)], source))
            handed.add(id(source))
            _check(stop)
    except KeyboardInterrupt:
        # Let the workers finish the files they hold (they ignore Ctrl-C), drop the rest, then
        # hand over every finished outcome: those files may have been written.
        _shut_down(pool)
        for source in on_disk:
            future = futures.get(id(source))
            if id(source) in handed or future is None or future.cancelled():
                continue
            if future.done() and future.exception() is None:
                accept(future.result())
        raise
    except BaseException:
        _shut_down(pool)
        raise
    if _shut_down(pool):
        raise KeyboardInterrupt


def _shut_down(pool) -> bool:
    """Shut the pool down completely, even when a signal comes meanwhile (True then): workers
    left behind would wait forever for work (each holds the others' end of the queue), keeping
    the run's output pipes open after it ended."""
    interrupted = False
    while True:
        try:
            pool.shutdown(wait=True, cancel_futures=True)
            return interrupted
        except KeyboardInterrupt:
            interrupted = True


def _result(future, source: files.Source) -> file_runner.Outcome:
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        message = (
            f"{source.display}: not processed: a converting process ended abruptly "
            "(the file is untouched or fully converted)"
        )
    except Exception as err:  # the pool could not hand the file over or back
        message = f"{source.display}: not processed: {type(err).__name__}: {err}"
    return file_runner.Outcome(source.display, file_runner.ERROR, message=message)
