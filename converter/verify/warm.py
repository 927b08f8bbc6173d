"""Warm starts: the conversion's runs fork from one process that has already imported Lightning.

Importing torch with Lightning takes seconds (torchmetrics alone imports torchvision's models), and
``verify --lightning-uses --devices 2`` runs the conversion five times: importing would be most of
the check. So verify starts one *server* per verification, ``python -m converter.verify.warm``,
which imports what the conversion imports first and then forks a child for each run of the
conversion; the child becomes the runner (:mod:`converter.verify.runner`) as a fresh process would.

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

The original always starts cold: the baseline is ``python script.py`` as its author ran it. A
verification that runs the conversion once (no ``--lightning-uses``, no ``--devices``) starts it
cold too: a server would import as much as that one run does.
``verify --cold-start`` starts every run cold.
"""

from __future__ import annotations

import ast
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

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
    """The parent's side: one server process, and the runs forked from it."""

    def __init__(self, modules: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.exits: dict[int, int] = {}
        self.ready: bool | None = None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.channel = ours
        with open(log, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "converter.verify.warm", str(theirs.fileno()), *modules],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        theirs.close()

    def start(self, argv: list[str], env: dict[str, str], stdin: int, out, err) -> Forked | None:
        """Fork a runner with these arguments, or None when the server cannot (start it cold)."""
        if self.ready is None:
            self.ready = bool(self._receive(lambda m: "ready" in m, block=True).get("ready"))
        if not self.ready or not _ranks_agree(env):
            return None
        request = json.dumps({"argv": argv, "env": env}).encode()
        try:
            socket.send_fds(self.channel, [request], [stdin, out.fileno(), err.fileno()])
        except OSError:
            self.ready = False
            return None
        pid = self._receive(lambda m: "pid" in m, block=True).get("pid")
        if pid is None:
            self.ready = False
            return None
        return Forked(pid, self)

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
    """Import ``modules``, then fork a child per request. Returns only in a child, with the
    runner's arguments; the server itself returns None when the parent closes the channel."""
    import gc
    import importlib

    gc.disable()  # see _settle_memory
    before = dict(os.environ)
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the script's own import then fails as it would cold
            pass
    # what the imports wrote to the environment (lightning_fabric sets two variables), written
    # again over each run's own
    made = {k: v for k, v in os.environ.items() if before.get(k) != v}
    dropped = [k for k in before if k not in os.environ]
    _settle_memory()
    channel = socket.socket(fileno=fd)
    torch = sys.modules.get("torch")
    cold = torch is not None and torch.cuda.is_initialized()
    channel.send(json.dumps({"ready": not cold}).encode())
    if cold:
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
        pid = os.fork()
        if pid == 0:
            channel.close()
            _become_fresh(fds, {**request["env"], **made}, dropped)
            return request["argv"]
        for descriptor in fds:
            os.close(descriptor)
        children.add(pid)
        channel.send(json.dumps({"pid": pid}).encode())


def _settle_memory() -> None:
    """What the imports made, collected once and frozen (``gc.freeze``), with the collector off
    meanwhile: a child's collections then never walk the server's objects, and so never copy the
    memory pages that hold them (a run of a small model took 1.6 s of CPU, 0.6 s frozen). A
    fresh process collects the imports' garbage whenever its collector runs; here it goes before
    the first fork, and the child collects its own objects as a fresh process would."""
    import gc

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
    import gc

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
