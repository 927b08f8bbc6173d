"""The patterns, one module each, in the order every phase asks them (see `base.Pattern`).

The order matters where two patterns could take the same statement or build on each other:

- manual optimization first: it decides whether the other patterns' claims apply at all;
- the GradScaler's `scaler.scale(loss).backward()` and `scaler.step(opt)` before the plain
  backward and optimizer-step patterns, which would take them for a loss and a step;
- ReduceLROnPlateau before the general scheduler pattern, which takes any `scheduler.step()`;
- the guard on files hooks write before the sums' reductions, which go before a statement
  (a save that reads a sum: the reduction before its guard);
- Trainer options come out in this order too (num_sanity_val_steps, strategy, precision,
  val_check_interval, clipping).
"""

from __future__ import annotations

from converter.targets.trainer.patterns import (
    backward,
    batch_limit,
    clipping,
    data_parallel,
    device,
    device_choice,
    distributed,
    early_stopping,
    epoch_progress_bar,
    evaluation_gradients,
    every_k_validation,
    full_batch,
    hyperparameters,
    item_loader,
    logged_metrics,
    loop_state,
    manual_optimization,
    metrics,
    mixed_precision,
    model_mode,
    module_after_fit,
    module_members,
    optimizer,
    plateau,
    predict_step,
    progress_bar,
    rank_zero,
    sanity_check,
    scheduler,
    trained_optimizers,
    values_after_fit,
)
from converter.targets.trainer.patterns.base import ClaimContext, Emission, Pattern

PATTERNS: tuple[Pattern, ...] = (
    manual_optimization.PATTERN,
    sanity_check.PATTERN,
    model_mode.PATTERN,
    progress_bar.PATTERN,
    epoch_progress_bar.PATTERN,
    optimizer.ZERO_GRAD,
    distributed.PATTERN,
    data_parallel.PATTERN,
    device_choice.PATTERN,
    mixed_precision.PATTERN,
    backward.PATTERN,
    every_k_validation.PATTERN,
    batch_limit.PATTERN,
    clipping.PATTERN,
    optimizer.STEP,
    plateau.PATTERN,
    scheduler.PATTERN,
    early_stopping.PATTERN,
    full_batch.PATTERN,
    item_loader.PATTERN,
    predict_step.PATTERN,
    module_after_fit.PATTERN,
    rank_zero.PATTERN,
    metrics.PATTERN,
    logged_metrics.PATTERN,
    device.PATTERN,
    evaluation_gradients.PATTERN,
    hyperparameters.PATTERN,
    module_members.PATTERN,
    loop_state.PATTERN,
    trained_optimizers.PATTERN,
    values_after_fit.PATTERN,
)

__all__ = ["PATTERNS", "ClaimContext", "Emission", "Pattern"]
