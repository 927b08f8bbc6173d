"""`clip_grad_norm_(model.parameters(), v)` / `clip_grad_value_(...)` between backward and step:
Trainer(gradient_clip_val=v[, gradient_clip_algorithm="value"])."""

from __future__ import annotations

import libcst as cst

from converter.rules.context import RuleContext, call_statement

_ALGORITHMS = {"clip_grad_norm_": "norm", "clip_grad_value_": "value"}


class GradientClipping:
    name = "gradient-clipping"

    def claim(self, statement: cst.BaseStatement, ctx: RuleContext) -> bool:
        call = call_statement(statement)
        if call is None:
            return False
        algorithm = next(
            (
                a
                for f, a in _ALGORITHMS.items()
                if ctx.index.resolves_to(call.func, f"torch.nn.utils.{f}")
            ),
            None,
        )
        if algorithm is None:
            return False
        params = call.args[0].value if call.args else None
        whole_model = (
            isinstance(params, cst.Call)
            and isinstance(params.func, cst.Attribute)
            and params.func.attr.value == "parameters"
            and ctx.is_model(params.func.value)
        )
        plain_value = len(call.args) == 2 and (
            call.args[1].keyword is None or call.args[1].keyword.value in ("max_norm", "clip_value")
        )
        if not (whole_model and plain_value):
            raise ctx.decline(
                statement, "gradient clipping over part of the model, or with options"
            )
        ctx.record("clip", statement)
        ctx.record_value("gradient_clip_val", call.args[1].value)
        if algorithm == "value":
            ctx.record_value("gradient_clip_algorithm", cst.SimpleString('"value"'))
        return True


RULE = GradientClipping()
