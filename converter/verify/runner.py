"""Run one training script under the tracer: the child process of ``torch2lightning verify``.

    python -m converter.verify.runner --trace OUT.json [--max-steps N] [--fake-data] [--seed S]
        [--old-torch-api] [--cuda-on-cpu] [--accelerator cpu|gpu] [--trainer KEY=JSON ...]
        [--save-weights F | --evaluate-weights F] [--path DIR ...] [--own-path DIR]
        -- script.py [args...]

Before the script runs: one CPU thread (``torch.set_num_threads(1)``; the parent also sets
``OMP_NUM_THREADS=1`` and ``PYTHONHASHSEED``), deterministic kernels (:func:`_deterministic`),
``random``/``numpy``/``torch`` seeded with ``--seed``, the hooks of
:mod:`~converter.verify.tracing`, :mod:`~converter.verify.capture` (``sys.stdout``) and
:mod:`~converter.verify.trainer_hooks` (and :mod:`~converter.verify.fabric_hooks`, its
Fabric counterpart) and, with ``--fake-data``, the datasets of
:mod:`~converter.verify.fakedata`. On the CPU (the default) the parent hides GPUs; with
``--accelerator gpu`` the GPU stays visible, TF32 is turned off and cuBLAS made deterministic, and
a machine without a GPU ends the run at once (status ``no-gpu``).

Then the runner forgets its own package: every ``converter*`` module leaves ``sys.modules`` and the
``--own-path`` folder (which the parent added to ``PYTHONPATH`` so that ``-m`` finds the runner)
leaves ``sys.path`` and ``PYTHONPATH``. A script with a ``converter.py`` of its own beside it
imports that one, as under ``python script.py``. The script runs unedited through
``runpy.run_path(script, run_name="__main__")`` with ``sys.argv = [script, *args]`` and the
``--path`` folders (default: the script's folder) first on ``sys.path``.

Afterwards, also after ``--max-steps`` stopped it or it raised, the trace is written. Exit status:
0 when the script finished (or was stopped), 1 when it raised (traceback on stderr), 3 when
``--accelerator gpu`` found no GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import sys
import time
import traceback

EXIT_NO_GPU = 3


def _parse(argv: list[str]) -> argparse.Namespace:
    if "--" not in argv:
        raise SystemExit("usage: runner [options] -- script.py [args...]")
    cut = argv.index("--")
    parser = argparse.ArgumentParser(prog="python -m converter.verify.runner")
    parser.add_argument("--trace", required=True)
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--fake-data", action="store_true")
    parser.add_argument("--old-torch-api", action="store_true")
    parser.add_argument("--cuda-on-cpu", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--accelerator", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--trainer", action="append", default=[], metavar="KEY=JSON")
    parser.add_argument("--save-weights")
    parser.add_argument("--evaluate-weights")
    parser.add_argument("--fits", type=int)  # with --evaluate-weights: how many the training made
    parser.add_argument("--path", action="append", default=[])
    parser.add_argument("--own-path")
    parser.add_argument("--outcome", action="store_true")
    parser.add_argument("--files-opened", action="store_true")  # a rank sharing rank 0's folder
    parser.add_argument("--skewed-clock", action="store_true")
    parser.add_argument("--lightning-uses", action="store_true")
    parser.add_argument("--chdir")  # the run's working folder (the runner starts elsewhere)
    args = parser.parse_args(argv[:cut])
    if cut + 1 >= len(argv):
        parser.error("no script after --")
    args.script, args.script_args = os.path.abspath(argv[cut + 1]), argv[cut + 2 :]
    args.trainer = dict(_keyword(item) for item in args.trainer)
    return args


def _keyword(item: str) -> tuple[str, object]:
    key, _, value = item.partition("=")
    return key, json.loads(value)


def _settle(seed: int, gpu: bool) -> None:
    """Same seeds, one thread, deterministic kernels: the two runs must be bit-comparable."""
    import random

    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work already started
        pass
    _deterministic(torch)
    if gpu:  # full float32 on the GPU too: TF32 would round both runs' products differently
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = False
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and not gpu:  # CPU only, like CUDA_VISIBLE_DEVICES="" in the parent's env
        real = mps.is_available

        def is_available() -> bool:
            return False

        # what dynamo reads of the real one when the script imports it (torchvision, Lightning)
        is_available.__wrapped__ = getattr(real, "__wrapped__", real)
        mps.is_available = is_available
    random.seed(seed)
    try:
        import numpy

        numpy.random.seed(seed)
    except ImportError:
        pass
    torch.manual_seed(seed)


def _deterministic(torch) -> None:
    """``torch.use_deterministic_algorithms(True, warn_only=True)``, without the import of
    ``torch._inductor`` that it makes to set inductor's own flag: that import loads dynamo (over a
    second of CPU) into a plain torch script that never compiles. The flag is set as soon as the
    script imports inductor (``torch.compile``, Lightning and torchvision do), as the call would
    have set it."""
    from converter.verify.after_import import after_import

    try:
        torch._C._set_deterministic_algorithms(True, warn_only=True)
    except (AttributeError, TypeError):  # a torch without the flag's own setter
        torch.use_deterministic_algorithms(True, warn_only=True)
        return
    after_import("torch._inductor.config", _inductor_deterministic)


def _inductor_deterministic(config) -> None:
    if hasattr(config, "deterministic"):
        config.deterministic = True


def _script_traceback(exc: BaseException, script: str) -> str:
    """The traceback from the script's first frame on, without the runner's and runpy's."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != script:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))


def _forget_own_package(own_path: str | None, keep: list[str]) -> None:
    """Leave no trace of the tool's package for the script (see the module docstring); the
    script's own folders (``keep``) stay on ``sys.path`` even if the tool lives there too."""
    for name in [n for n in sys.modules if n == "converter" or n.startswith("converter.")]:
        del sys.modules[name]
    if not own_path:
        return
    own = os.path.realpath(own_path)
    if own not in {os.path.realpath(p) for p in keep}:
        sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != own]
    entries = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    kept = [p for p in entries if p and os.path.realpath(p) != own]
    if kept:
        os.environ["PYTHONPATH"] = os.pathsep.join(kept)
    else:
        os.environ.pop("PYTHONPATH", None)


def main(argv: list[str] | None = None) -> int:
    started = time.time()  # files modified from now on are the run's (read before any skew)
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.chdir:
        os.chdir(args.chdir)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    gpu = args.accelerator == "gpu"
    if gpu:  # read by cuBLAS when it starts; deterministic results need it
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # everything the runner needs is imported before the script runs and the package is forgotten
    from converter.verify import (
        capture,
        fabric_hooks,
        holdings,
        opened,
        tracing,
        trainer_hooks,
        written,
    )
    from converter.verify.blob import Blob

    _settle(args.seed, gpu)
    tracer = tracing.Tracer(max_steps=args.max_steps)
    if gpu:
        import torch

        if not torch.cuda.is_available():
            why = "--accelerator gpu: torch sees no GPU here (torch.cuda.is_available() is False)"
            print(f"[verify] {why}", file=sys.stderr)
            tracer.dump(args.trace, "no-gpu", why)
            return EXIT_NO_GPU
    if args.old_torch_api:
        from converter.verify import old_api

        old_api.install()
    if args.cuda_on_cpu:
        from converter.verify import cuda_on_cpu

        cuda_on_cpu.install()
    if args.fake_data:
        from converter.verify import fakedata

        fakedata.install()
    if args.skewed_clock:
        from converter.verify import clock

        clock.install()
    from converter.verify import notebook_display

    with open(args.script, "rb") as script_file:
        notebook_display.install(script_file.read().decode("utf-8", "replace"))
    out = capture.Capture(sys.stdout)
    plan = trainer_hooks.Plan(
        trainer=args.trainer,
        save_weights=args.save_weights,
        evaluate_weights=args.evaluate_weights,
        capture=out,
        uses=[] if args.lightning_uses else None,
    )
    trainer_hooks.install(plan)
    fabric = fabric_hooks.install(plan)  # the same overrides and recordings for Fabric
    folders = [os.path.abspath(p) for p in args.path] or [os.path.dirname(args.script)]
    sys.path[:1] = folders  # replaces the runner's own entry, like `python script.py` would
    _forget_own_package(args.own_path, folders)
    sys.argv = [args.script, *args.script_args]

    status, error, code = "finished", None, 0
    held = holdings.Holdings()
    if args.outcome:
        held.install()
    writing = opened.OpenedForWriting()
    if args.files_opened:
        import torch

        writing.install()
        writing.watch_torch_save(torch)
    namespace = None
    out.install()
    tracer.install()
    try:
        namespace = runpy.run_path(args.script, run_name="__main__")
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
            if args.fits and plan.fits_evaluated >= args.fits:
                # every fit was evaluated; the script's code after them read what training
                # makes (a list the epochs filled), and training does not run here
                status, code = "raised after training", 0
    finally:
        tracer.uninstall()
        out.uninstall()
        held.uninstall()
    fabric_hooks.finish(fabric)
    sys.stdout.flush()
    extra = {
        "printed": out.segments,
        "evaluations": plan.evaluations,
        "uses": plan.uses,
    }
    writing.uninstall()
    if args.outcome:
        with Blob(args.trace + ".outcome.bin") as blob:
            extra["holdings"] = held.dump(blob, tracer.optimizers)
            skip = trainer_hooks.lightning_folders(plan)
            extra["written"] = written.dump(os.getcwd(), started, skip, blob, namespace)
    elif args.files_opened:
        skip = trainer_hooks.lightning_folders(plan)
        extra["written"] = [{"path": p} for p in writing.relative(os.getcwd(), skip)]
    tracer.dump(args.trace, status, error, extra)
    _end_process_group()
    return code


def _end_process_group() -> None:
    """End the process group a DDP run leaves alive (Lightning never ends the one it starts).

    A process that exits with a live gloo group can abort while Python shuts down ("terminate
    called without an active exception", exit -6; pytorch/pytorch#179291): the run would read as
    failed after everything was recorded.
    """
    distributed = sys.modules.get("torch.distributed")
    if distributed is not None and distributed.is_available() and distributed.is_initialized():
        distributed.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
