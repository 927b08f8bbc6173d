"""What a run holds at its end: every module it made, with buffers, modes and gradients, and the
state of every optimizer that stepped.

Runs inside a verify child process. Losses and the stepped parameters (:mod:`tracing`) say how the
training went; this says what it left behind, which is what the code after training uses: a
BatchNorm's running statistics, an EMA copy outside the optimizer, the model's train/eval mode
(dropout on or off in the predictions a script saves), the gradients of the last batch, Adam's
moments and the learning rate a scheduler left.

Most scripts keep their model in a local of ``main()``, gone when the script returns. So every
``nn.Module`` is remembered when it is made (``nn.Module.__init__``) or copied or unpickled
(``__setstate__``: ``copy.deepcopy``, ``torch.load`` of a whole model) and kept alive until the
dump. The dump writes the *roots*: modules no other remembered module contains, with every
submodule's class and mode, each state-dict tensor, and each parameter's gradient. Left out:
modules Lightning makes for itself (its metric holders, Fabric's wrapper) and wrappers that only
forward to one module (DDP, DataParallel, ``torch.compile``): their inner module is the root. A
module without state (a loss function, ``nn.ReLU``) has nothing to compare.
"""

from __future__ import annotations

import functools

import torch

from converter.verify.blob import Blob

#: Packages whose modules are Lightning's own machinery, not the script's.
LIGHTNING_PACKAGES = ("lightning", "pytorch_lightning", "lightning_fabric")
#: Wrappers whose only content is the module they forward to.
FORWARDING = ("DistributedDataParallel", "DataParallel", "OptimizedModule")
#: More roots than this are not dumped (a script that makes a module per batch).
MAX_ROOTS = 1000


class Holdings:
    def __init__(self) -> None:
        self.made: list[torch.nn.Module] = []
        self._originals: dict[str, object] = {}

    def install(self) -> None:
        module = torch.nn.Module
        for name in ("__init__", "__setstate__"):
            original = self._originals[name] = getattr(module, name)
            setattr(module, name, self._remembering(original))

    def uninstall(self) -> None:
        for name, original in self._originals.items():
            setattr(torch.nn.Module, name, original)
        self._originals.clear()

    def _remembering(self, original):
        made = self.made

        @functools.wraps(original)
        def wrapper(module, *args, **kwargs):
            original(module, *args, **kwargs)
            made.append(module)

        return wrapper

    def roots(self) -> list[torch.nn.Module]:
        seen: dict[int, torch.nn.Module] = {}
        for m in self.made:
            if id(m) not in seen and _is_scripts(m):
                seen[id(m)] = m
        inside = {id(c) for m in seen.values() for c in m.modules() if c is not m}
        return [m for m in seen.values() if id(m) not in inside and m.state_dict()]

    def dump(self, blob: Blob, optimizers: list) -> dict:
        roots = self.roots()
        with torch.no_grad():
            modules = [_module(m, blob) for m in roots[:MAX_ROOTS]]
            states = [_optimizer(opt, blob) for opt in optimizers]
        return {
            "modules": modules,
            "left_out": max(0, len(roots) - MAX_ROOTS),
            "optimizers": states,
        }


def _is_scripts(m: torch.nn.Module) -> bool:
    cls = type(m)
    if cls.__name__ in FORWARDING:
        return False
    return cls.__module__.split(".")[0] not in LIGHTNING_PACKAGES


def _module(root: torch.nn.Module, blob: Blob) -> dict:
    parameters = dict(root.named_parameters(remove_duplicate=False))
    tensors = []
    for name, value in root.state_dict(keep_vars=True).items():
        if not isinstance(value, torch.Tensor):  # a module's extra state
            continue
        entry = {"name": name, "kind": "parameter" if name in parameters else "buffer"}
        entry.update(blob.add(value))
        grad = parameters[name].grad if name in parameters else None
        entry["grad"] = None if grad is None else blob.add(grad)
        tensors.append(entry)
    devices = sorted({t["device"] for t in tensors})
    return {
        "class": type(root).__name__,
        "submodules": [[name, type(m).__name__, m.training] for name, m in root.named_modules()],
        "devices": devices,
        "tensors": tensors,
    }


def _optimizer(opt: torch.optim.Optimizer, blob: Blob) -> dict:
    """An optimizer's ``state_dict``: its per-parameter state (moments, steps) and the settings of
    each parameter group (the learning rate a scheduler left, momentum...)."""
    state = opt.state_dict()
    per_parameter = []
    for index, values in sorted(state["state"].items(), key=lambda kv: str(kv[0])):
        for key, value in sorted(values.items()):
            entry = {"name": f"{index}.{key}"}
            if isinstance(value, torch.Tensor):
                entry.update(blob.add(value))
            else:
                entry["value"] = _plain(value)
            per_parameter.append(entry)
    groups = [{k: _plain(v) for k, v in g.items() if k != "params"} for g in state["param_groups"]]
    return {"class": type(opt).__name__, "state": per_parameter, "groups": groups}


def _plain(value):
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (bool, int, float, str, type(None))) else repr(value)
