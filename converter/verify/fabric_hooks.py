"""Reach the ``Fabric`` of a script that runs unedited: the Fabric side of a verify run.

Runs inside a verify child process, next to :mod:`~converter.verify.trainer_hooks` (a script
creates a ``Trainer`` or a ``Fabric``, and the same :class:`~converter.verify.trainer_hooks.Plan`
serves both). Nothing is imported ahead of the script: an import hook waits for Fabric's module
(``lightning.fabric.fabric`` or ``lightning_fabric.fabric``) and patches ``Fabric`` when it loads:

* the ``trainer`` overrides are forced on every ``Fabric(...)`` too (``accelerator``,
  ``devices``, ``strategy``, ``num_nodes``);
* every module given to ``fabric.setup``/``setup_module`` is remembered, in that order;
* ``save_weights``: when the script ends, those modules' ``state_dict``\\ s are saved there (the
  training run of ``--devices``);
* ``evaluate_weights``: each module is loaded with those weights when it is set up, and again
  every time the script switches it to eval mode, so that every evaluation evaluates the trained
  weights (batch-norm statistics included), whatever the processes trained in between;
* the stretches where a set-up module is in eval mode are the script's evaluations: what it
  prints there is labelled (``"evaluation 1"``...) and recorded as one evaluation, as
  ``Trainer.validate``/``test`` calls are for a Trainer.
"""

from __future__ import annotations

import functools
import sys

from converter.verify.after_import import after_import
from converter.verify.trainer_hooks import Plan

FABRIC_MODULES = ("lightning_fabric.fabric", "lightning.fabric.fabric")


class _State:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.modules: list = []  # the _FabricModule wrappers, in setup order
        self.weights: list | None = None
        self.evaluating = False


def install(plan: Plan) -> _State:
    state = _State(plan)

    def patch(module) -> None:
        _patch_fabric(module.Fabric, state)
        wrappers = sys.modules[module.__name__.rsplit(".", 1)[0] + ".wrappers"]
        _patch_train(wrappers._FabricModule, state)

    after_import(FABRIC_MODULES, patch)
    return state


def finish(state: _State) -> None:
    """After the script: save the set-up modules' weights (``save_weights``)."""
    if state.plan.save_weights and state.modules:
        import torch

        weights = [
            {k: v.detach().cpu().clone() for k, v in m.state_dict().items()} for m in state.modules
        ]
        torch.save(weights, state.plan.save_weights)


def _patch_fabric(fabric_cls, state: _State) -> None:
    plan = state.plan
    original_init = fabric_cls.__init__
    original_setup = fabric_cls.setup
    original_setup_module = fabric_cls.setup_module

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        kwargs.update(plan.trainer)
        original_init(self, *args, **kwargs)
        plan.lightning.append(self)  # its loggers' folders are Lightning's output

    fabric_cls.__init__ = __init__

    @functools.wraps(original_setup)
    def setup(self, module, *optimizers, **kwargs):
        _load(state, module, len(state.modules))
        result = original_setup(self, module, *optimizers, **kwargs)
        state.modules.append(result[0] if optimizers else result)
        return result

    @functools.wraps(original_setup_module)
    def setup_module(self, module, *args, **kwargs):
        _load(state, module, len(state.modules))
        result = original_setup_module(self, module, *args, **kwargs)
        state.modules.append(result)
        return result

    fabric_cls.setup = setup
    fabric_cls.setup_module = setup_module


def _patch_train(module_cls, state: _State) -> None:
    original_train = module_cls.train

    @functools.wraps(original_train)
    def train(self, mode: bool = True):
        result = original_train(self, mode)
        if self in state.modules:
            if not mode and state.plan.evaluate_weights:
                _load(state, self.module, state.modules.index(self))
            _evaluating(state, any(not m.training for m in state.modules))
        return result

    module_cls.train = train


def _evaluating(state: _State, now: bool) -> None:
    plan = state.plan
    if now and not state.evaluating:
        label = f"evaluation {len(plan.evaluations) + 1}"
        plan.evaluations.append({"label": label, "stage": "evaluation", "results": []})
        plan.capture.label = label
    elif not now and state.evaluating:
        plan.capture.label = None
    state.evaluating = now


def _load(state: _State, module, position: int) -> None:
    if not state.plan.evaluate_weights:
        return
    if state.weights is None:
        import torch

        state.weights = torch.load(state.plan.evaluate_weights, weights_only=True)
    if position < len(state.weights):
        module.load_state_dict(state.weights[position])
