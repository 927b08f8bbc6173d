"""Warm starts: a verification's runs fork from one process that has already imported torch,
and Lightning for the conversion's.

Importing torch takes seconds, with Lightning more (torchmetrics alone imports torchvision's
models), and a verification runs the original once and the conversion up to five times
(``--lightning-uses --devices 2``): importing would be most of the check. So verify starts one
*server* per verification, ``python -m converter.verify.warm``, which imports torch (the runner
imports it before any script) and forks the original's run; then it imports what the conversion
imports first and forks a child for each run of the conversion. The child becomes the runner
(:mod:`converter.verify.runner`) as a fresh process would.

Why the child runs the conversion exactly as a fresh ``python -m converter.verify.runner`` does:

* it imports ahead only what the conversion imports before any statement of its own
  (:func:`preloads`): packages the script would import first thing anyway, in its order, with
  only standard-library, numpy and tqdm imports allowed in between; a fresh runner imports torch
  before the script too. A script that runs code of its own before importing Lightning (sets a
  default dtype, imports a module of its own) starts cold;
* the server sets the runner's environment before it imports (one thread, the seed's hash seed);
  the child then takes the run's own environment, folder, stdin, stdout and stderr, a session of
  its own (a timeout stops its workers too), default signal handlers, and the runner seeds and
  settles torch in the child, as in a fresh process. It exits through Python's own shutdown
  (``atexit``, threads joined);
* torch never starts CUDA in the server: with ``--accelerator gpu`` (CUDA cannot start in a
  forked child once the parent started it), on a platform without ``fork``, or when the server
  fails or finds CUDA started, every run starts cold.

The original forks before the server imports anything beyond torch; a run of the original after
that (the second one that tells a clock's print from a difference) starts cold.
``verify --cold-start`` starts every run cold.
"""

from __future__ import annotations

import ast
import gc
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

#: Heavy packages the server may import ahead of the script.
PRELOADABLE = frozenset(
    {"torch", "torchvision", "torchmetrics", "lightning", "pytorch_lightning", "lightning_fabric"}
)
#: What a conversion imports that makes a warm start worth it (each costs seconds to import).
LIGHTNING = frozenset({"lightning", "pytorch_lightning", "lightning_fabric"})
#: Imports that may stand before a preloaded one: the standard library's, and two that torch and
#: Lightning import themselves.
TRANSPARENT = frozenset(sys.stdlib_module_names) | {"numpy", "tqdm"}

_MESSAGE = 1 << 16
#: What every run imports first: the runner imports torch before any script.
FIRST = ("torch",)


def preloads(source: str) -> list[str]:
    """The modules the script imports before any statement of its own, among :data:`PRELOADABLE`,
    in its order; [] unless Lightning is one of them, or where the source does not parse."""
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError):
        return []
    names: list[str] = []
    for index, statement in enumerate(body):
        if index == 0 and _is_docstring(statement):
            continue
        imported = _imported(statement)
        if imported is None:
            break
        if any(name.split(".")[0] not in PRELOADABLE | TRANSPARENT for name in imported):
            break
        names += [name for name in imported if name.split(".")[0] in PRELOADABLE]
    if not any(name.split(".")[0] in LIGHTNING for name in names):
        return []
    return list(dict.fromkeys(names))


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


def _imported(statement: ast.stmt) -> list[str] | None:
    """The modules an import statement imports, or None for any other statement."""
    if isinstance(statement, ast.Import):
        return [alias.name for alias in statement.names]
    if isinstance(statement, ast.ImportFrom) and not statement.level and statement.module:
        return [] if statement.module == "__future__" else [statement.module]
    return None


class Server:
    """The parent's side: one server process, and the runs forked from it.

    It starts by importing torch (which the runner imports before any script), so the original
    forks from it first; a run that asks for more (the conversion's Lightning) has the server
    import that before it forks, and from then on a run that asks for less starts cold."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.exits: dict[int, int] = {}
        self.ready: bool | None = None
        self.loaded: list[str] = list(FIRST)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.channel = ours
        with open(log, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "converter.verify.warm", str(theirs.fileno()), *FIRST],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        theirs.close()

    def stage(self, modules: list[str]) -> Stage:
        """What forks runs that may have ``modules`` imported ahead (torch always first)."""
        return Stage(self, list(dict.fromkeys([*FIRST, *modules])))

    def start(
        self, modules: list[str], argv: list[str], env: dict[str, str], stdin: int, out, err
    ) -> Forked | None:
        """Fork a runner with these arguments once ``modules`` are imported, or None when the
        server cannot (start it cold): it failed, or it has imported more than ``modules``."""
        if self.ready is None:
            self.ready = self._wait_ready()
        if modules[: len(self.loaded)] != self.loaded:
            return None
        if self.ready and len(modules) > len(self.loaded):
            self._send({"load": modules[len(self.loaded) :]})
            self.loaded = modules
            self.ready = self._wait_ready()
        if not self.ready or not _ranks_agree(env):
            return None
        if not self._send({"argv": argv, "env": env}, (stdin, out.fileno(), err.fileno())):
            return None
        pid = self._receive(lambda m: "pid" in m, block=True).get("pid")
        if pid is None:
            self.ready = False
            return None
        return Forked(pid, self)

    def _wait_ready(self) -> bool:
        return bool(self._receive(lambda m: "ready" in m, block=True).get("ready"))

    def _send(self, message: dict, fds: tuple[int, ...] = ()) -> bool:
        try:
            socket.send_fds(self.channel, [json.dumps(message).encode()], list(fds))
        except OSError:
            self.ready = False
            return False
        return True

    def _receive(self, wanted, block: bool) -> dict:
        """Read the server's messages (exits are kept) until one is ``wanted``, or none is left."""
        while True:
            ready, _, _ = select.select([self.channel], [], [], None if block else 0)
            if not ready:
                return {}
            try:
                data = self.channel.recv(_MESSAGE)
            except OSError:
                data = b""
            if not data:  # the server is gone
                return {}
            message = json.loads(data)
            if "exit" in message:
                self.exits[message["exit"]] = message["code"]
            if wanted(message):
                return message

    def poll(self, pid: int) -> int | None:
        if pid not in self.exits:
            self._receive(lambda m: m.get("exit") == pid, block=False)
        return self.exits.get(pid)

    def close(self) -> None:
        """Stop the server at once: it keeps nothing to write, and its forked runs are sessions
        of their own (a graceful exit would spend seconds tearing down torch's modules)."""
        self.channel.close()
        self.proc.kill()
        self.proc.wait()


class Starts(NamedTuple):
    """Where a verification's runs fork from: the original's stage and the conversion's (None:
    they start cold)."""

    original: Stage | None
    conversion: Stage | None

    def said(self) -> dict[str, str]:
        """How each side's runs started, for the JSON result."""
        return {
            f"{name}_started": f"forked from one that imported {', '.join(stage.modules)}"
            if stage is not None and stage.forked
            else "fresh processes"
            for name, stage in zip(self._fields, self)
        }


#: Every run starts cold.
COLD = Starts(None, None)


class Stage:
    """Starts runs forked from ``server`` with ``modules`` imported ahead; counts them."""

    def __init__(self, server: Server, modules: list[str]) -> None:
        self.server, self.modules, self.forked = server, modules, 0

    def start(self, argv: list[str], env: dict[str, str], stdin: int, out, err) -> Forked | None:
        forked = self.server.start(self.modules, argv, env, stdin, out, err)
        self.forked += forked is not None
        return forked


class Forked:
    """A forked run, answering as the ``subprocess.Popen`` of a cold run does."""

    def __init__(self, pid: int, server: Server) -> None:
        self.pid, self.server, self.returncode = pid, server, None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.server.poll(self.pid)
        return self.returncode

    def wait(self) -> int:
        while self.poll() is None:
            if self.server.proc.poll() is not None and self.poll() is None:
                self.returncode = -signal.SIGKILL  # the server died: its children's fate unknown
                break
            time.sleep(0.02)
        return self.returncode

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# The server's side: runs in `python -m converter.verify.warm FD MODULE...`.


def serve(fd: int, modules: list[str]) -> list[str] | None:
    """Import ``modules``, then fork a child per request, importing more when asked to. Returns
    only in a child, with the runner's arguments; the server itself returns None when the
    parent closes the channel."""
    gc.disable()  # see _settle_memory
    before = dict(os.environ)
    channel = socket.socket(fileno=fd)
    ready = _load(modules, channel)
    if not ready:
        return None
    children: set[int] = set()
    while True:
        readable, _, _ = select.select([channel], [], [], 0.02)
        _report_exits(channel, children)
        if not readable:
            continue
        data, fds, _, _ = socket.recv_fds(channel, _MESSAGE, 3)
        if not data:
            return None
        request = json.loads(data)
        if "load" in request:
            ready = _load(request["load"], channel)  # runs forked already go on
            continue
        if not ready:
            for descriptor in fds:
                os.close(descriptor)
            channel.send(json.dumps({"pid": None}).encode())
            continue
        # what the imports wrote to the environment (lightning_fabric sets two variables),
        # written again over each run's own
        made = {k: v for k, v in os.environ.items() if before.get(k) != v}
        dropped = [k for k in before if k not in os.environ]
        pid = os.fork()
        if pid == 0:
            channel.close()
            _become_fresh(fds, {**request["env"], **made}, dropped)
            return request["argv"]
        for descriptor in fds:
            os.close(descriptor)
        children.add(pid)
        channel.send(json.dumps({"pid": pid}).encode())


def _load(modules: list[str], channel: socket.socket) -> bool:
    """Import ``modules`` and say whether runs can fork now (not once torch started CUDA)."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the script's own import then fails as it would cold
            pass
    _settle_memory()
    torch = sys.modules.get("torch")
    ready = not (torch is not None and torch.cuda.is_initialized())
    channel.send(json.dumps({"ready": ready}).encode())
    return ready


def _settle_memory() -> None:
    """What the imports made, collected once and frozen (``gc.freeze``), with the collector off
    meanwhile: a child's collections then never walk the server's objects, and so never copy the
    memory pages that hold them (a run of a small model took 1.6 s of CPU, 0.6 s frozen). A
    fresh process collects the imports' garbage whenever its collector runs; here it goes before
    the first fork, and the child collects its own objects as a fresh process would."""
    gc.collect()
    gc.freeze()


def _report_exits(channel: socket.socket, children: set[int]) -> None:
    for pid in list(children):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            children.discard(pid)
            code = os.waitstatus_to_exitcode(status)
            channel.send(json.dumps({"exit": pid, "code": code}).encode())


def _become_fresh(fds: list[int], env: dict[str, str], dropped: list[str]) -> None:
    """In the child: the run's own session, streams, environment, signal handlers and rank."""
    gc.enable()
    os.setsid()
    for target, descriptor in enumerate(fds):
        os.dup2(descriptor, target)
        os.close(descriptor)
    os.environ.clear()
    os.environ.update(env)
    for name in dropped:
        os.environ.pop(name, None)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    _rank_as_imported()


#: Where Lightning looks for the process's rank when it is imported (lightning_fabric's
#: `_get_rank`): the one import-time read of what differs between the runs (RANK per process).
_RANK_VARIABLES = ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")


def _ranks_agree(env: dict[str, str]) -> bool:
    """Whether Lightning's and torchmetrics' import-time ranks are the same in ``env``: then
    :func:`_rank_as_imported` sets them as a fresh import would, whichever of the two imported
    first. (They differ only under a launcher that sets RANK apart from LOCAL_RANK.)"""
    values = (env.get(name) for name in _RANK_VARIABLES)
    return int(next((v for v in values if v is not None), 0)) == int(env.get("LOCAL_RANK", 0))


def _rank_as_imported() -> None:
    """``rank_zero_only.rank`` as importing in this environment sets it: Lightning's (read by
    every ``rank_zero_*`` print until the Trainer sets it) and torchmetrics' own."""
    shared = sys.modules.get("lightning_utilities.core.rank_zero")
    if shared is not None and hasattr(shared.rank_zero_only, "rank"):
        values = (os.environ.get(name) for name in _RANK_VARIABLES)
        shared.rank_zero_only.rank = int(next((v for v in values if v is not None), 0))
    prints = sys.modules.get("torchmetrics.utilities.prints")
    if prints is not None and hasattr(prints.rank_zero_only, "rank"):
        prints.rank_zero_only.rank = int(os.environ.get("LOCAL_RANK", 0))


if __name__ == "__main__":
    argv = serve(int(sys.argv[1]), sys.argv[2:])
    if argv is None:
        os._exit(0)  # the server: nothing to tear down (see Server.close)
    from converter.verify import runner

    sys.exit(runner.main(argv))
