"""Statement rules: each small module recognises one plain-PyTorch pattern and says what it
becomes in Lightning. The analysis offers every statement it moves to the rules in RULES order;
a rule that claims a statement records its meaning on the plan and the statement is not copied.

A rule is an object with `name` and `claim(statement, ctx) -> bool`; `ctx` is a RuleContext.
"""

from __future__ import annotations

from converter.rules import (
    backward,
    clipping,
    distributed,
    mixed_precision,
    model_mode,
    optimizer_calls,
    plateau,
    scheduler,
)
from converter.rules.context import RuleContext

RULES = (
    model_mode.RULE,
    optimizer_calls.ZERO_GRAD,
    mixed_precision.SCALED_BACKWARD,
    mixed_precision.SCALER_STEP,
    backward.RULE,
    clipping.RULE,
    optimizer_calls.STEP,
    plateau.RULE,
    scheduler.RULE,
    distributed.RULE,
)

__all__ = ["RULES", "RuleContext"]
