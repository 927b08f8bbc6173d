"""`model.train()` / `model.eval()`: Lightning switches modes around each stage itself."""

from __future__ import annotations

import libcst as cst

from converter.rules.context import RuleContext, method_call


class ModelMode:
    name = "model-mode"

    def claim(self, statement: cst.BaseStatement, ctx: RuleContext) -> bool:
        found = method_call(statement)
        if found is None:
            return False
        receiver, method, call = found
        if method not in ("train", "eval") or not ctx.is_model(receiver):
            return False
        if call.args and method == "train":
            return False  # model.train(False) is rare enough to leave to a person
        ctx.record(method, statement)
        return True


RULE = ModelMode()
