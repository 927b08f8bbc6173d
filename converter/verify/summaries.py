"""A training epoch that moves nothing: how ``--devices N`` checks a conversion's training
summaries (``Average loss: ...`` at the end of each epoch) on 1 and on N processes.

Runs inside a verify child process, after :mod:`~converter.verify.trainer_hooks` loaded the
trained weights and validated them. On N processes the batches of an epoch are split between the
processes, so a summary summed over the batches each process saw must be reduced across them,
as an evaluation's must. Two trainings on 1 and on N processes move the weights differently, so
their summaries cannot be compared; an epoch with the weights held still can: every optimizer
step does nothing but call its closure (``training_step`` and ``backward`` run as always), and the
module is in eval mode (no dropout draws, batch norm on its running statistics), so each batch's
loss depends on the batch alone. The epoch's total over all batches is then the same however
they are split; a mean over batches differs only by how a short last batch weighs.

What the module prints at the end of the epoch (``on_train_epoch_end``, or ``on_train_batch_end``
once it has read ``trainer.is_last_batch`` as true: a conversion guards so the summary the loop
printed before validating) is labelled and recorded as one more evaluation, stage ``training
summary``, with the tolerance that the split needs; what it prints in its steps is labelled too, so
that it must be printed once. A line a hand-kept step counter schedules (``if steps % 3 == 0``) is
a step's, even when it falls on the last batch: N processes take fewer steps an epoch.

Not every number printed there sums up the epoch: ``last loss 0.31`` is the last batch's, which
on N processes is another batch. So on one process the epoch runs a second time with its batches
in another order (the loader re-made with a permuting sampler of its own generator): a number
that changes with the order is no summary, and is not compared (``reordered`` in the record).
"""

from __future__ import annotations

import contextlib

#: Relative difference allowed between the summaries of 1 and N processes: batches of other sizes.
TOLERANCE = 0.02
QUIET = {
    "logger": False,
    "enable_checkpointing": False,
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "num_sanity_val_steps": 0,
    "limit_val_batches": 0,
    "max_epochs": 1,
    "max_steps": -1,
}


def run(fit, trainer_cls, callback_cls, trainer, model, train_loaders, datamodule, plan) -> None:
    """``fit``: ``Trainer.fit`` as Lightning defines it (the patched one would not train)."""
    n = len(plan.evaluations) + 1
    labels = {"steps": f"training steps {n}", "summary": f"training summary {n}"}
    options = {**getattr(trainer, "_verify_options", {}), **QUIET}
    wrap_up = _WrapUp(plan.capture)
    options["callbacks"] = [_holding_still(callback_cls, plan, labels, wrap_up)]
    options.pop("check_val_every_n_epoch", None)
    held = trainer_cls(**options)
    with wrap_up.reading(trainer_cls):
        fit(held, model, train_dataloaders=train_loaders, datamodule=datamodule)
    record = {
        "label": labels["summary"],
        "stage": "training summary",
        "results": [],
        "tolerance": TOLERANCE,
        "steps": labels["steps"],
    }
    package = trainer_cls.__module__.split(".trainer")[0]  # pytorch_lightning, lightning.pytorch
    if train_loaders is None and datamodule is not None:  # set up by the held epoch's fit
        train_loaders = datamodule.train_dataloader()
    reordered = _reordered(train_loaders, package) if trainer.world_size == 1 else None
    if reordered is not None:
        again = {
            "steps": f"{labels['steps']} reordered",
            "summary": f"{labels['summary']} reordered",
        }
        options["callbacks"] = [_holding_still(callback_cls, plan, again, wrap_up)]
        with wrap_up.reading(trainer_cls):
            fit(trainer_cls(**options), model, train_dataloaders=reordered)
        record["reordered"] = again["summary"]
    plan.evaluations.append(record)
    # what the script may read from its Trainer after fit (trainer.optimizers[0].state_dict())
    trainer.strategy.optimizers = held.strategy.optimizers
    trainer.strategy.lr_scheduler_configs = held.strategy.lr_scheduler_configs


def _reordered(loader, package: str):
    """``loader`` with its items in another, fixed order, or None (not a map-style DataLoader)."""
    import importlib

    import torch
    from torch.utils.data import DataLoader, SubsetRandomSampler

    if not isinstance(loader, DataLoader) or not hasattr(loader.dataset, "__len__"):
        return None
    _update_dataloader = importlib.import_module(f"{package}.utilities.data")._update_dataloader
    order = torch.Generator().manual_seed(20261207)
    sampler = SubsetRandomSampler(range(len(loader.dataset)), generator=order)
    try:
        return _update_dataloader(loader, sampler)
    except Exception:  # a loader Lightning cannot re-make (a custom class)
        return None


class _WrapUp:
    """The label the epoch's wrap-up prints under, armed after the last batch: the module's
    ``on_train_batch_end`` runs after the callbacks', and what it prints once it has read
    ``trainer.is_last_batch`` as true is the epoch's wrap-up before validation, as conversions
    guard it. Anything it prints before that read (a step counter's line) stays a step's."""

    def __init__(self, capture):
        self.capture = capture
        self.label: str | None = None

    @contextlib.contextmanager
    def reading(self, trainer_cls):
        read = trainer_cls.is_last_batch

        def is_last_batch(trainer):
            value = read.fget(trainer)
            if value and self.label is not None:
                self.capture.label, self.label = self.label, None
            return value

        trainer_cls.is_last_batch = property(is_last_batch)
        try:
            yield
        finally:
            trainer_cls.is_last_batch = read
            self.label = None


def _holding_still(callback_cls, plan, labels, wrap_up: _WrapUp):
    class HoldStill(callback_cls):
        def on_train_start(self, trainer, module):
            module.eval()
            for optimizer in trainer.optimizers:
                optimizer.step = _closure_only
            plan.capture.label = labels["steps"]

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            last = trainer.fit_loop.epoch_loop.batch_progress.is_last_batch
            wrap_up.label = labels["summary"] if last else None

        def on_train_epoch_end(self, trainer, module):
            # the module's own hook runs after the callbacks'
            plan.capture.label = labels["summary"]

        def on_train_end(self, trainer, module):
            plan.capture.label = None

    return HoldStill()


def _closure_only(closure=None, **kwargs):
    return closure() if closure is not None else None
