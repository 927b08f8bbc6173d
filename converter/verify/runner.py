"""Run one training script under the tracer: the child process of ``torch2lightning verify``.

    python -m converter.verify.runner --trace OUT.json [--max-steps N] [--fake-data] [--seed S]
        [--path DIR ...] -- script.py [args...]

Before the script runs: one CPU thread (``torch.set_num_threads(1)``; the parent also sets
``OMP_NUM_THREADS=1``, ``PYTHONHASHSEED=0`` and hides GPUs), ``torch.use_deterministic_algorithms
(True, warn_only=True)``, ``random``/``numpy``/``torch`` seeded with ``--seed``, the hooks of
:mod:`converter.verify.tracing` and, with ``--fake-data``, the datasets of
:mod:`converter.verify.fakedata`. Then the script runs unedited through
``runpy.run_path(script, run_name="__main__")`` with ``sys.argv = [script, *args]`` and the
``--path`` folders (default: the script's folder) first on ``sys.path``, as ``python script.py``
would have it. Whatever the script prints goes to this process's stdout/stderr.

Afterwards, also after ``--max-steps`` stopped it or it raised, the trace is written. Exit status:
0 when the script finished (or was stopped), 1 when it raised (traceback on stderr).
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import traceback


def _parse(argv: list[str]) -> argparse.Namespace:
    if "--" not in argv:
        raise SystemExit("usage: runner [options] -- script.py [args...]")
    cut = argv.index("--")
    parser = argparse.ArgumentParser(prog="python -m converter.verify.runner")
    parser.add_argument("--trace", required=True)
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--fake-data", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--path", action="append", default=[])
    args = parser.parse_args(argv[:cut])
    if cut + 1 >= len(argv):
        parser.error("no script after --")
    args.script, args.script_args = os.path.abspath(argv[cut + 1]), argv[cut + 2 :]
    return args


def _settle(seed: int) -> None:
    """Same seeds, one thread, deterministic kernels: the two runs must be bit-comparable."""
    import random

    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work already started
        pass
    torch.use_deterministic_algorithms(True, warn_only=True)
    mps = getattr(torch.backends, "mps", None)
    if mps is not None:  # CPU only, like CUDA_VISIBLE_DEVICES="" in the parent's environment
        mps.is_available = lambda: False
    random.seed(seed)
    try:
        import numpy

        numpy.random.seed(seed)
    except ImportError:
        pass
    torch.manual_seed(seed)


def _script_traceback(exc: BaseException, script: str) -> str:
    """The traceback from the script's first frame on, without the runner's and runpy's."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != script:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from converter.verify import tracing

    _settle(args.seed)
    if args.fake_data:
        from converter.verify import fakedata

        fakedata.install()
    tracer = tracing.Tracer(max_steps=args.max_steps)
    folders = [os.path.abspath(p) for p in args.path] or [os.path.dirname(args.script)]
    sys.path[:1] = folders  # replaces the runner's own entry, like `python script.py` would
    sys.argv = [args.script, *args.script_args]

    status, error, code = "finished", None, 0
    tracer.install()
    try:
        runpy.run_path(args.script, run_name="__main__")
    except tracing.StopTraining:
        status = "stopped"
    except SystemExit as exc:
        if exc.code not in (None, 0) and not tracer.stopped:
            status, error, code = "error", f"SystemExit({exc.code!r})", 1
            print(f"[verify] the script exited with {exc.code!r}", file=sys.stderr)
        elif tracer.stopped:
            status = "stopped"
    except BaseException:  # noqa: B036 - the script's own error, reported to the parent
        if tracer.stopped:  # the script re-raised our stop as something else
            status = "stopped"
        else:
            error = _script_traceback(sys.exc_info()[1], args.script)
            print(error, file=sys.stderr, end="")
            status, code = "error", 1
    finally:
        tracer.uninstall()
    sys.stdout.flush()
    tracer.dump(args.trace, status, error)
    return code


if __name__ == "__main__":
    sys.exit(main())
