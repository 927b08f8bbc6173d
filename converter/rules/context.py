"""What a rule sees: the statement's place (which hook, which loop) and who is who at the site."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.analysis.plan import Declined, Origin, TrainingPlan


@dataclass
class RuleContext:
    index: SourceIndex
    plan: TrainingPlan
    origin: Origin
    place: str  # "batch" (inside the training batch loop), "epoch", "eval"
    claims: dict[str, list[cst.BaseStatement]] = field(default_factory=dict)

    def record(self, what: str, statement: cst.BaseStatement) -> None:
        self.claims.setdefault(what, []).append(statement)

    def record_value(self, trainer_option: str, expr: cst.BaseExpression) -> None:
        """A Trainer option, with its value as written here (mapped to the site when rewriting)."""
        self.plan.trainer_kwargs[trainer_option] = (expr, self.origin)

    def site_name(self, expr: cst.BaseExpression) -> str | None:
        """The site variable that `expr` denotes, following an inlined function's parameters."""
        if not isinstance(expr, cst.Name):
            return None
        argument = self.origin.argument(expr.value)
        if argument is not None:
            return argument.value if isinstance(argument, cst.Name) else None
        if self.origin.params and self.origin.scope.assignments[expr.value]:
            local = [
                a for a in self.origin.scope.assignments[expr.value] if a.scope is self.origin.scope
            ]
            if local:
                return None  # a local of the inlined function
        return expr.value

    def is_model(self, expr: cst.BaseExpression) -> bool:
        return self.site_name(expr) in self.plan.model_vars

    def is_optimizer(self, expr: cst.BaseExpression) -> bool:
        return self.site_name(expr) == self.plan.optimizer_var

    def is_scaler(self, expr: cst.BaseExpression) -> bool:
        return self.site_name(expr) in self.plan.scaler_vars

    def is_scheduler(self, expr: cst.BaseExpression) -> bool:
        return self.site_name(expr) in self.plan.scheduler_vars

    def decline(self, node: cst.CSTNode, message: str) -> Declined:
        return Declined(self.index.line(node), message)


def call_statement(statement: cst.BaseStatement) -> cst.Call | None:
    """The call of a statement that is only a call: `f(...)`."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    expr = statement.body[0]
    if not isinstance(expr, cst.Expr) or not isinstance(expr.value, cst.Call):
        return None
    return expr.value


def method_call(statement: cst.BaseStatement) -> tuple[cst.BaseExpression, str, cst.Call] | None:
    """`receiver.method(...)` as a whole statement: (receiver, method, call)."""
    call = call_statement(statement)
    if call is None or not isinstance(call.func, cst.Attribute):
        return None
    return call.func.value, call.func.attr.value, call
