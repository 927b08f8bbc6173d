"""Ctrl-C, SIGTERM and SIGHUP held while a block runs: a file is written whole or not at all, a
parse is never cut mid-thread, and the file runner's workers start with the signals they should."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

DEFERRED_SIGNALS = {
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
}


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block is over (POSIX; elsewhere a no-op).

    What the block does then happens entirely or not at all: a signal's default action (SIGTERM
    kills without any clean-up) or its ``KeyboardInterrupt`` comes after it. Blocks nest.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
