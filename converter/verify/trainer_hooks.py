"""Reach the ``Trainer`` of a script that runs unedited: the Lightning side of a verify run.

Runs inside a verify child process. Nothing is imported ahead of the script (importing Lightning
early would change how it sets up its loggers): an import hook waits for Lightning's trainer
module (``pytorch_lightning`` or ``lightning.pytorch``, whichever the script imports) and patches
its ``Trainer`` when it loads. What is patched depends on the run (:class:`Plan`):

* ``trainer`` overrides: keyword arguments forced on every ``Trainer(...)`` (``accelerator="gpu",
  devices=1`` in GPU mode; ``accelerator="cpu", devices=N, strategy="ddp"`` for the evaluation on N
  processes), except that GPU mode leaves a ``Trainer(accelerator="cpu")`` on the CPU: the
  converter pins a conversion there when its hooks call the script's own functions on CPU tensors,
  and forcing the GPU would test a run the conversion says it cannot do;
* ``save_weights``: after ``Trainer.fit`` returns or is stopped, the fitted module's
  ``state_dict`` is saved there (the training run of ``--devices``), and beside it the plain
  values its hooks left on it (`self.best_acc`, the last `self.loss`), which the script may read
  after fit;
* ``evaluate_weights``: ``Trainer.fit`` does not train: it loads those weights and values into the
  module and validates them (``Trainer.validate`` with the same loaders), so that the script's own
  ``trainer.test(...)`` afterwards tests them too;
* every ``Trainer.validate``/``test`` call is recorded: its stage, what it returned on this
  process, and (through :class:`~converter.verify.capture.Capture`'s label) what the script printed
  during it.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
import sys
from dataclasses import dataclass, field

# imported now: the runner forgets its own package before the script runs
from converter.verify import summaries, use_hooks
from converter.verify.after_import import after_import

TRAINER_MODULES = ("pytorch_lightning.trainer.trainer", "lightning.pytorch.trainer.trainer")
MODULE_MODULES = ("pytorch_lightning.core.module", "lightning.pytorch.core.module")


@dataclass
class Plan:
    trainer: dict = field(default_factory=dict)
    save_weights: str | None = None
    evaluate_weights: str | None = None
    #: filled while the script runs: one entry per validate/test call
    evaluations: list[dict] = field(default_factory=list)
    capture: object = None  # a Capture, whose label marks the evaluation in progress
    #: ``--lightning-uses``: what each use of the conversion gave (see use_hooks.py)
    uses: list | None = None
    #: ``evaluate_weights``: how many of the script's fits were evaluated and returned
    fits_evaluated: int = 0
    #: every Trainer and Fabric the script made: their loggers' and checkpoints' folders are
    #: Lightning's output, not the script's (see :func:`lightning_folders`)
    lightning: list = field(default_factory=list)


def lightning_folders(plan: Plan) -> list[str]:
    """The folders Lightning writes to for the script's Trainers and Fabrics: each logger's
    (``lightning_logs/``) and each checkpoint callback's."""
    folders = []
    for owner in plan.lightning:
        for logger in getattr(owner, "loggers", None) or ():
            for attribute in ("root_dir", "log_dir", "save_dir"):
                try:
                    folder = getattr(logger, attribute, None)
                except Exception:  # a logger that cannot say before it ran
                    folder = None
                if isinstance(folder, str) and folder:
                    folders.append(folder)
                    break
        for callback in getattr(owner, "checkpoint_callbacks", None) or ():
            if getattr(callback, "dirpath", None):
                folders.append(str(callback.dirpath))
    return folders


def install(plan: Plan) -> None:
    def patch(module) -> None:
        _patch_trainer(module.Trainer, plan)

    after_import(TRAINER_MODULES, patch)
    if plan.uses is not None:  # what each module is constructed with, for its reload

        def record(module) -> None:
            use_hooks.record_init_args(module.LightningModule)

        after_import(MODULE_MODULES, record)


def _plain(value):
    """Logged metrics as JSON numbers (tensors included)."""
    if hasattr(value, "detach"):
        value = value.detach().double().cpu()
        value = value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (int, float, str, type(None))) else repr(value)


def _patch_trainer(trainer_cls, plan: Plan) -> None:
    original_init = trainer_cls.__init__
    original_fit = trainer_cls.fit
    fit_signature = inspect.signature(original_fit)
    package = trainer_cls.__module__.split(".trainer")[0]  # pytorch_lightning, lightning.pytorch

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        pinned = kwargs.get("accelerator") == "cpu" and plan.trainer.get("accelerator") == "gpu"
        kwargs.update({} if pinned else plan.trainer)
        original_init(self, *args, **kwargs)
        self._verify_options = dict(kwargs)  # the settings a use of its module keeps
        plan.lightning.append(self)

    trainer_cls.__init__ = __init__

    def evaluated(stage: str):
        original = getattr(trainer_cls, stage)

        @functools.wraps(original)
        def run(self, *args, **kwargs):
            label = f"{stage} {len(plan.evaluations) + 1}"
            outer, plan.capture.label = plan.capture.label, label
            try:
                results = original(self, *args, **kwargs)
            finally:
                plan.capture.label = outer
            plan.evaluations.append({"label": label, "stage": stage, "results": _plain(results)})
            return results

        setattr(trainer_cls, stage, run)

    for stage in ("validate", "test"):
        evaluated(stage)

    if plan.uses is not None:
        trainer_cls.fit = use_hooks.wrap_fit(trainer_cls, original_fit, plan, package)

    elif plan.save_weights:
        fits = itertools.count()

        @functools.wraps(original_fit)
        def fit(self, model, *args, **kwargs):
            try:
                return original_fit(self, model, *args, **kwargs)
            finally:
                _save(model, _numbered(plan.save_weights, next(fits)))

        trainer_cls.fit = fit

    elif plan.evaluate_weights:
        fits = itertools.count()

        @functools.wraps(original_fit)
        def fit(self, *args, **kwargs):
            bound = fit_signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            model = bound.arguments["model"]
            _load(model, _numbered(plan.evaluate_weights, next(fits)))
            loaders = bound.arguments.get("val_dataloaders")
            datamodule = bound.arguments.get("datamodule")
            has_loaders = loaders is not None or datamodule is not None
            lightning_module = sys.modules[package].LightningModule
            overridden = type(model).val_dataloader is not lightning_module.val_dataloader
            steps = type(model).validation_step is not lightning_module.validation_step
            if steps and (has_loaders or overridden):
                self.validate(model, dataloaders=loaders, datamodule=datamodule)
            train = bound.arguments.get("train_dataloaders")
            callback = sys.modules[package].Callback
            summaries.run(original_fit, trainer_cls, callback, self, model, train, datamodule, plan)
            plan.fits_evaluated += 1  # returned: what raises from here on is the script's own

        trainer_cls.fit = fit


_PLAIN = (bool, int, float, str, type(None))


def _numbered(path: str, fit: int) -> str:
    """The weights of the script's n-th fit (a script may train two modules, one after the
    other): the first keeps the name the parent checks for."""
    return path if fit == 0 else f"{path}.fit{fit}"


def _save(model, path: str) -> None:
    import torch

    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save(state, path)
    values = {}
    for name, value in vars(model).items():
        if isinstance(value, torch.Tensor):
            values[name] = value.detach().cpu().clone()
        elif isinstance(value, _PLAIN) and not name.startswith("_") and name != "training":
            values[name] = value
    torch.save(values, path + ".values")


def _load(model, path: str) -> None:
    import torch

    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    values = torch.load(path + ".values", map_location="cpu", weights_only=True)
    for name, value in values.items():
        setattr(model, name, value)
