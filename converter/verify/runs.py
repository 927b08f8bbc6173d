"""The child processes of ``torch2lightning verify``: start, wait, stop, and say why one failed.

Runs in the CLI process (standard library only; never imports torch). Each run is ``python -m
converter.verify.runner ... -- script args`` in a working directory of its own (or a shared one,
with ``--cwd``), in a new process session so that a timeout or Ctrl-C stops its DataLoader workers
and DDP peers too, with its stdout and stderr in log files.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from converter.verify import warm

TAIL_LINES = 25
#: Where the ``converter`` package lives: added to the children's PYTHONPATH so that ``-m`` finds
#: the runner, and taken away again by the runner before the script runs.
OWN_PATH = str(Path(__file__).resolve().parents[2])
#: Variables that would make Lightning believe a launcher (torchrun, SLURM) started the
#: evaluation processes, or a different world: left out of the --devices runs' environment.
LAUNCHER_VARIABLES = ("RANK", "GROUP_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "LOCAL_RANK")
LAUNCHER_PREFIXES = ("SLURM_", "TORCHELASTIC_", "PMI_", "OMPI_")


@dataclass
class Run:
    name: str
    script: Path
    cwd: Path
    trace: Path
    stdout: Path
    stderr: Path
    options: list[str] = field(default_factory=list)  # runner options of this run only
    env: dict[str, str] = field(default_factory=dict)  # variables of this run only
    proc: subprocess.Popen | warm.Forked | None = None
    started: float = 0.0
    seconds: float = 0.0
    timed_out: bool = False
    cancelled: bool = False  # stopped (or never started) because another run failed
    #: a run beside the others (verify --lightning-uses): its failure is a finding, and does
    #: not stop them
    independent: bool = False
    terminal: int | None = None  # the master side of the run's pseudo-terminal (its stdin)
    warm: warm.Stage | None = None  # forks this run (warm.py), or None: it starts cold

    @classmethod
    def in_folder(cls, name: str, script: Path, root: Path, cwd: Path | None = None, **kw) -> Run:
        return cls(
            name,
            script,
            cwd or root / name,
            root / f"{name}.trace.json",
            root / f"{name}.stdout.log",
            root / f"{name}.stderr.log",
            **kw,
        )

    def error(self) -> str | None:
        """Why this run has nothing to compare, or None."""
        if self.timed_out:
            return "it did not finish in time (--timeout)"
        if self.proc is not None and self.proc.returncode != 0:
            return f"it failed (exit status {self.proc.returncode})"
        if not self.trace.exists():
            return "it left no trace"
        return None

    def last_error_line(self) -> str:
        """The last line of the script's error (its traceback's), or of its stderr."""
        lines = [line for line in tail(self.stderr).splitlines() if line.strip()]
        return lines[-1].strip() if lines else (self.error() or "")


def environment(seed: int, gpu: bool) -> tuple[dict[str, str], list[str]]:
    """The children's environment, and the runner options that go with it."""
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONHASHSEED=str(seed),
        PYTHONUNBUFFERED="1",
    )
    if not gpu:
        env["CUDA_VISIBLE_DEVICES"] = ""  # CPU only: the bit-for-bit promise is a CPU promise
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if OWN_PATH in paths:  # the user's own setting: the script sees it too
        return env, []
    env["PYTHONPATH"] = os.pathsep.join([*paths, OWN_PATH])
    return env, ["--own-path", OWN_PATH]


def without_launchers(env: dict[str, str]) -> dict[str, str]:
    return {
        k: v
        for k, v in env.items()
        if k not in LAUNCHER_VARIABLES and not k.startswith(LAUNCHER_PREFIXES)
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(run: Run, args: list[str], options: list[str], paths: list[Path], env: dict) -> None:
    cmd = [sys.executable, "-m", "converter.verify.runner", "--trace", str(run.trace)]
    cmd += [*options, *run.options, "--chdir", str(run.cwd)]
    for p in paths:
        cmd += ["--path", str(p)]
    cmd += ["--", str(run.script), *args]
    run.cwd.mkdir(parents=True, exist_ok=True)
    run.trace.unlink(missing_ok=True)
    stdin = _terminal(run)
    with open(run.stdout, "wb") as out, open(run.stderr, "wb") as err:
        run.started = time.monotonic()
        try:
            if run.warm is not None:
                run.proc = _forked(run, cmd[3:], {**env, **run.env}, stdin, out, err)
            if run.proc is not None:
                return
            run.proc = subprocess.Popen(
                cmd,
                # `-m` puts the starting folder first on sys.path: verify's own folder, not the
                # run's, which may hold the script's `converter.py` (copied beside it, or --cwd)
                cwd=run.trace.parent,
                env={**env, **run.env},
                stdin=stdin,
                stdout=out,
                stderr=err,
                start_new_session=os.name == "posix",  # a timeout stops DataLoader workers too
            )
        finally:
            if stdin is not subprocess.DEVNULL:
                os.close(stdin)


def _forked(run: Run, argv: list[str], env: dict, stdin, out, err) -> warm.Forked | None:
    if stdin is not subprocess.DEVNULL:
        return run.warm.start(argv, env, stdin, out, err)
    with open(os.devnull, "rb") as nothing:
        return run.warm.start(argv, env, nothing.fileno(), out, err)


#: End-of-file keys waiting on the run's terminal: each read of stdin (`input()`) gets one, and
#: ends at once as on a closed stdin.
_EOFS = 256


def _terminal(run: Run):
    """The slave side of a pseudo-terminal of 24 rows and 80 columns for the run's stdin, or
    DEVNULL where there is none. A script may ask its terminal for its size (`stty size`, a
    progress bar of its own drawn to the width): under `python train.py` it has one. Reads of
    it end at once (end-of-file), as with no stdin."""
    if os.name != "posix":
        return subprocess.DEVNULL
    try:
        import fcntl
        import struct
        import termios

        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.write(master, b"\x04" * _EOFS)
    except (OSError, ImportError):
        return subprocess.DEVNULL
    run.terminal = master
    return slave


def close_terminal(run: Run) -> None:
    if run.terminal is not None:
        try:
            os.close(run.terminal)
        except OSError:
            pass
        run.terminal = None


def kill(run: Run) -> None:
    if run.proc is None or run.proc.poll() is not None:
        close_terminal(run)
        return
    try:
        if os.name == "posix":
            os.killpg(run.proc.pid, signal.SIGKILL)
        else:
            run.proc.kill()
    except ProcessLookupError:
        pass
    run.proc.wait()
    close_terminal(run)


def wait(runs: list[Run], deadline: float | None) -> None:
    """Wait for the started runs; when one fails or time is up, stop the others at once."""
    started = [run for run in runs if run.proc is not None]
    while True:
        for run in started:
            if run.proc.poll() is not None and not run.seconds:
                run.seconds = time.monotonic() - run.started
        pending = [run for run in started if run.proc.poll() is None]
        if not pending:
            return
        failed = any(run.proc.poll() not in (None, 0) for run in started if not run.independent)
        late = deadline is not None and time.monotonic() > deadline
        if failed or late:
            for run in pending:
                run.timed_out, run.cancelled = late, not late
                kill(run)
                run.seconds = time.monotonic() - run.started
            return
        time.sleep(0.05)


def tail(path: Path, n: int = TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.rsplit("\r", 1)[-1] for line in text.rstrip().split("\n")]  # progress bars
    return "\n".join(lines[-n:])
