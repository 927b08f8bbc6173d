"""A clock that reads another time: the second run of the original, to find what depends on it.

Runs inside a verify child process (``--skewed-clock``). A line such as ``Time elapsed: 0.02 min``
or a date differs between any two runs, two runs of the original too, so it is evidence neither
way. Verify finds such output by running the original a second time and seeing what changes; two
quick runs may well print the same ``0.02 min``, so in that second run every clock the script
can read is skewed: wall clocks read ``SHIFT`` seconds later (another year, day, hour, minute and
second), and every clock runs ``RATE`` times as fast (a minute a second: a run that prints
``0.01 min`` prints ``0.60 min``). Whatever the script prints or writes from a clock then
changes; what it computes from its seeded training does not.

Covered: ``time.time``/``monotonic``/``perf_counter``/``process_time`` (and their ``_ns``
forms), ``time.localtime``/``gmtime``/``ctime``/``asctime``/``strftime`` without an explicit
time, and ``datetime.datetime.now``/``utcnow``/``today``, ``datetime.date.today``.
"""

from __future__ import annotations

import datetime
import functools
import time

SHIFT = 400 * 86400 + 3661.5
RATE = 60.0


def _skew(read, base: float, shift: float):
    @functools.wraps(read)
    def skewed():
        return base + shift + (read() - base) * RATE

    return skewed


def _skew_ns(read, base: int, shift: float):
    @functools.wraps(read)
    def skewed():
        return base + int(shift * 1e9) + int((read() - base) * RATE)

    return skewed


def _at_skewed_now(function, now):
    @functools.wraps(function)
    def call(*args):
        if not args or args[0] is None:
            args = (now(), *args[1:])
        return function(*args)

    return call


def install() -> None:
    real = {name: getattr(time, name) for name in ("localtime", "gmtime", "ctime")}
    for name in ("time", "monotonic", "perf_counter", "process_time"):
        read = getattr(time, name)
        shift = SHIFT if name == "time" else 0.0
        setattr(time, name, _skew(read, read(), shift))
        read_ns = getattr(time, name + "_ns")
        setattr(time, name + "_ns", _skew_ns(read_ns, read_ns(), shift))
    now = time.time
    for name in ("localtime", "gmtime", "ctime"):
        setattr(time, name, _at_skewed_now(real[name], now))
    asctime, strftime = time.asctime, time.strftime
    time.asctime = lambda t=None: asctime(time.localtime() if t is None else t)
    time.strftime = lambda fmt, t=None: strftime(fmt, time.localtime() if t is None else t)

    class SkewedDateTime(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls.fromtimestamp(now(), tz)

        @classmethod
        def utcnow(cls):
            return cls.fromtimestamp(now(), datetime.timezone.utc).replace(tzinfo=None)

        @classmethod
        def today(cls):
            return cls.fromtimestamp(now())

    class SkewedDate(datetime.date):
        @classmethod
        def today(cls):
            return cls.fromtimestamp(now())

    skewed = {"datetime": SkewedDateTime, "date": SkewedDate}
    real = {name: getattr(datetime, name) for name in skewed}
    for name, cls in skewed.items():
        cls.__name__ = cls.__qualname__ = name
        cls.__module__ = "datetime"
        setattr(datetime, name, cls)
    _real_types_while_extensions_load(real, skewed)


def _real_types_while_extensions_load(real: dict, skewed: dict) -> None:
    """A compiled extension (pandas' Cython modules) takes `datetime.datetime` as the C type it
    was built against when it loads: a subclass there fails its import or crashes it. While an
    extension module loads, `datetime` holds its own types again; its clock reads then stay
    real, the script's own (`datetime.now()`) are skewed."""
    import importlib.machinery

    loader = importlib.machinery.ExtensionFileLoader
    loading = [0]  # extensions load one inside another: the outermost restores the skew

    def with_real_types(method):
        @functools.wraps(method)
        def load(self, *args):
            loading[0] += 1
            for name, cls in real.items():
                setattr(datetime, name, cls)
            try:
                return method(self, *args)
            finally:
                loading[0] -= 1
                if not loading[0]:
                    for name, cls in skewed.items():
                        setattr(datetime, name, cls)

        return load

    loader.create_module = with_real_types(loader.create_module)
    loader.exec_module = with_real_types(loader.exec_module)
