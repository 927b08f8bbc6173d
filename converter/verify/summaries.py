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
after the last batch, where a conversion prints a summary the loop printed before validating) is
labelled and recorded
as one more evaluation, stage ``training summary``, with the tolerance that the split needs;
what it prints in its steps is labelled too, so that it must be printed once. Not every number
printed there sums up the epoch: ``last loss 0.31`` is the last batch's, which on N processes is
another batch. So on one process the epoch runs a second time with its batches in another order
(the loader re-made with a permuting sampler of its own generator): a number that changes with
the order is no summary, and is not compared (``reordered`` in the record).
"""

from __future__ import annotations

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
    options["callbacks"] = [_holding_still(callback_cls, plan, labels)]
    options.pop("check_val_every_n_epoch", None)
    held = trainer_cls(**options)
    fit(held, model, train_dataloaders=train_loaders, datamodule=datamodule)
    record = {
        "label": labels["summary"],
        "stage": "training summary",
        "results": [],
        "tolerance": TOLERANCE,
        "steps": labels["steps"],
    }
    package = trainer_cls.__module__.split(".trainer")[0]  # pytorch_lightning, lightning.pytorch
    reordered = _reordered(train_loaders, package) if trainer.world_size == 1 else None
    if reordered is not None:
        again = {
            "steps": f"{labels['steps']} reordered",
            "summary": f"{labels['summary']} reordered",
        }
        options["callbacks"] = [_holding_still(callback_cls, plan, again)]
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


def _holding_still(callback_cls, plan, labels):
    class HoldStill(callback_cls):
        def on_train_start(self, trainer, module):
            module.eval()
            for optimizer in trainer.optimizers:
                optimizer.step = _closure_only
            plan.capture.label = labels["steps"]

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            if trainer.is_last_batch:  # the epoch's wrap-up before validation, as conversions
                plan.capture.label = labels["summary"]  # print it (the module's hook runs next)

        def on_train_epoch_end(self, trainer, module):
            # the module's own hook runs after the callbacks'
            plan.capture.label = labels["summary"]

        def on_train_end(self, trainer, module):
            plan.capture.label = None

    return HoldStill()


def _closure_only(closure=None, **kwargs):
    return closure() if closure is not None else None
