"""Watch a training run without changing it: every loss given to backward, every optimizer step,
and the final weights of every optimizer that stepped.

Runs only inside a verify child process (it imports torch). Three hooks, nothing else:

* ``torch.autograd.backward`` is wrapped. ``Tensor.backward`` calls it, and so does Lightning
  (``LightningModule.backward`` -> ``loss.backward()``), so one wrapper sees both paths. It records
  ``float(loss)`` (``Tensor.item``: a read, no new graph node, no RNG) before calling the original.
* a global optimizer step post hook (``register_optimizer_step_post_hook``) counts steps and
  remembers each optimizer the first time it steps. After ``max_steps`` steps it raises
  :class:`StopTraining`.
* :meth:`Tracer.dump` writes the trace (JSON) and the weights (raw native float32/float64 bytes,
  one ``.bin`` file next to the JSON) so the parent can compare them without importing torch.
"""

from __future__ import annotations

import functools
import gc
import json
import warnings

import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from converter.verify.blob import Blob

FORMAT_VERSION = 1


class StopTraining(BaseException):
    """Ends a run after ``--max-steps`` optimizer steps; the runner catches it and still dumps.

    A ``BaseException`` so ``except Exception`` in user code does not swallow it, and not a
    ``KeyboardInterrupt``: Lightning turns that into ``sys.exit(1)``, while any other
    ``BaseException`` leaves ``Trainer.fit`` after teardown, re-raised unchanged.
    """


class Tracer:
    """Records losses and optimizer steps while installed; see the module docstring."""

    def __init__(self, max_steps: int | None = None) -> None:
        self.max_steps = max_steps
        self.losses: list[dict] = []
        self.steps = 0
        self.stopped = False
        self.optimizers: list[torch.optim.Optimizer] = []
        self._seen: set[int] = set()
        self._names: dict[int, str] = {}
        self._handle = None
        self._original_backward = None

    # -- hooks -----------------------------------------------------------------------------
    def install(self) -> None:
        original = self._original_backward = torch.autograd.backward

        @functools.wraps(original)
        def backward(tensors, *args, **kwargs):
            if self.stopped:  # the script swallowed StopTraining: keep stopping it
                raise StopTraining
            if not isinstance(tensors, torch.Tensor):
                tensors = tuple(tensors)  # may be a one-shot iterable; record it and pass it on
            self._record(tensors)
            return original(tensors, *args, **kwargs)

        torch.autograd.backward = backward
        self._handle = register_optimizer_step_post_hook(self._after_step)

    def uninstall(self) -> None:
        if self._original_backward is not None:
            torch.autograd.backward = self._original_backward
            self._original_backward = None
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _record(self, tensors) -> None:
        for t in (tensors,) if isinstance(tensors, torch.Tensor) else tensors:
            if not isinstance(t, torch.Tensor):  # a GradientEdge: nothing to read
                continue
            entry = {
                "step": self.steps,
                "numel": t.numel(),
                "dtype": str(t.dtype).split(".")[-1],
                "device": t.device.type,
            }
            with torch.no_grad():
                if t.numel() == 1:
                    entry["value"] = float(t.detach().reshape(()).item())
                else:  # backward(gradient=...) on a non-scalar: record the sum, in double
                    entry["value"] = float(t.detach().double().sum().item())
            self.losses.append(entry)

    def _after_step(self, optimizer, args, kwargs) -> None:
        if id(optimizer) not in self._seen:  # name its parameters while their module lives
            self._seen.add(id(optimizer))
            self.optimizers.append(optimizer)
            self._names.update(_parameter_names())
        self.steps += 1
        if self.max_steps is not None and self.steps >= self.max_steps:
            self.stopped = True
            raise StopTraining

    # -- output ----------------------------------------------------------------------------
    def dump(
        self, trace_path: str, status: str, error: str | None = None, extra: dict | None = None
    ) -> None:
        """Write ``trace_path`` (JSON) and ``trace_path + '.bin'`` (the weights, in order);
        ``extra`` adds entries to the JSON (what was printed, evaluations...)."""
        names = {**self._names, **_parameter_names()}
        optimizers = []
        with Blob(trace_path + ".bin") as blob, torch.no_grad():
            for opt in self.optimizers:
                groups = []
                for group in opt.param_groups:
                    params = [
                        {"name": names.get(id(p), "?"), **blob.add(p)} for p in group["params"]
                    ]
                    groups.append({"lr": _plain(group.get("lr")), "params": params})
                optimizers.append({"class": type(opt).__name__, "groups": groups})
        trace = {
            "version": FORMAT_VERSION,
            "status": status,
            "error": error,
            "steps": self.steps,
            "max_steps": self.max_steps,
            "losses": self.losses,
            "optimizers": optimizers,
            "torch": torch.__version__,
            **(extra or {}),
        }
        with open(trace_path, "w", encoding="utf-8") as f:
            json.dump(trace, f)


def _plain(value):
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return value if isinstance(value, (int, float, type(None))) else repr(value)


def _parameter_names() -> dict[int, str]:
    """``id(param) -> "fc1.weight"`` from the outermost live modules (labels for the report)."""
    modules = []
    with warnings.catch_warnings():  # isinstance() on deprecated module proxies warns
        warnings.simplefilter("ignore")
        for o in gc.get_objects():
            try:
                if isinstance(o, torch.nn.Module):
                    modules.append(o)
            except Exception:  # proxies whose __class__ raises
                pass
    children = {id(c) for m in modules for c in m.children()}
    roots = [m for m in modules if id(m) not in children]
    roots.sort(key=lambda m: -sum(1 for _ in m.parameters()))
    names: dict[int, str] = {}
    for root in roots:
        for name, p in root.named_parameters():
            names.setdefault(id(p), name)
    return names
