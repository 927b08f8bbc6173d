"""Evaluation regions: a loop over a loader that runs the model without backward(), with the code
that sets it up (`model.eval()`, accumulators) and reports on it (prints), either inline
(`with torch.no_grad(): for ...`) or in a function called once (`test(model, device, loader)`).
Run each epoch it becomes the validation stage; after training, the test stage."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import split_around
from converter.analysis.index import SourceIndex
from converter.analysis.loops import (
    bind_arguments,
    called_function_statement,
    final_return,
    is_eval_loop,
    is_mode_switch,
    result_assignment,
    stage_of_loop,
)
from converter.analysis.names import names_read, names_written
from converter.analysis.site import Declined, Moved, Origin, StageName, TrainingSite

_NO_GRAD = ("torch.no_grad", "torch.inference_mode", "torch.autograd.grad_mode.no_grad")


@dataclass
class EvalRegion:
    first: int  # index of its first statement in the block it was found in
    last: int  # index of its last statement (inclusive)
    loop: cst.For
    loop_origin: Origin
    start: list[Moved]
    step: list[Moved]
    end: list[Moved]
    function: cst.FunctionDef | None

    def stage(self, index: SourceIndex, name: StageName):
        stage = stage_of_loop(index, name, self.loop, self.loop_origin)
        stage.start, stage.step, stage.end = self.start, self.step, self.end
        return stage


class RegionFinder:
    def __init__(self, index: SourceIndex, site: TrainingSite) -> None:
        self.index = index
        self.plan = site
        self._by_name: dict[str, cst.FunctionDef] | None = None

    def find(self, block: list[cst.BaseStatement], site: Origin) -> EvalRegion | None:
        """The first evaluation region among the statements of `block`."""
        for position, statement in enumerate(block):
            region = self._anchor(statement, position, site)
            if region is not None:
                self._extend(block, region, site)
                return region
        return None

    # -- the statement that holds the loop -----------------------------------------------------

    def _anchor(self, statement, position: int, site: Origin) -> EvalRegion | None:
        if is_eval_loop(self.index, statement, self.plan.model_vars, site):
            return EvalRegion(position, position, statement, site, [], [], [], None)
        loop = self._loop_in_no_grad(statement, site)
        if loop is not None:
            before, after = split_around(statement.body.body, loop)
            return EvalRegion(
                position, position, loop, site, _moved(before, site), [], _moved(after, site), None
            )
        return self._function_call(statement, position, site)

    def _loop_in_no_grad(self, statement, origin: Origin) -> cst.For | None:
        if not isinstance(statement, cst.With) or not all(
            isinstance(item.item, cst.Call)
            and self.index.resolves_to(item.item.func, *_NO_GRAD)
            and item.asname is None
            for item in statement.items
        ):
            return None
        loops = [
            s
            for s in statement.body.body
            if is_eval_loop(self.index, s, self.plan.model_vars, origin)
        ]
        return loops[0] if len(loops) == 1 else None

    def _functions(self) -> dict[str, cst.FunctionDef]:
        """The module's functions by name (the first of a name), looked up once: a script of
        thousands of calls asks for each."""
        if self._by_name is None:
            self._by_name = {}
            for s in self.index.module.body:
                if isinstance(s, cst.FunctionDef):
                    self._by_name.setdefault(s.name.value, s)
        return self._by_name

    def _function_call(self, statement, position: int, site: Origin) -> EvalRegion | None:
        shape = called_function_statement(statement)
        if shape is None:
            return None
        call, target = shape
        function = self._functions().get(call.func.value)
        if function is None:
            return None
        for decorator in function.decorators:
            applied = decorator.decorator
            applied = applied.func if isinstance(applied, cst.Call) else applied
            if not self.index.resolves_to(applied, *_NO_GRAD):
                raise Declined(
                    self.index.line(decorator),
                    f"{function.name.value}() is decorated: its body cannot move into "
                    "Lightning's hooks without what the decorator does",
                )
        origin = Origin(
            self.index.body_scope(function),
            tuple(bind_arguments(self.index, function, call).items()),
        )
        final = final_return(function)
        body = [s for s in function.body.body if s is not final]
        for holder in body:
            loop = (
                holder if is_eval_loop(self.index, holder, self.plan.model_vars, origin) else None
            )
            loop = loop or self._loop_in_no_grad(holder, origin)
            if loop is None:
                continue
            outer_before, outer_after = split_around(body, holder)
            inner_before, inner_after = (
                split_around(holder.body.body, loop) if holder is not loop else ([], [])
            )
            inner_after = [s for s in inner_after if s is not final]
            if any(_is_return(s) for s in outer_before + outer_after + inner_before + inner_after):
                raise Declined(self.index.line(function), f"{function.name.value}() returns early")
            result = result_assignment(function, target)
            if target is not None and result is None:
                raise Declined(
                    self.index.line(statement), f"{function.name.value}() returns nothing"
                )
            if result is not None:
                outer_after = [*outer_after, result]
            return EvalRegion(
                position,
                position,
                loop,
                origin,
                _moved(outer_before + inner_before, origin),
                [],
                _moved(inner_after + outer_after, origin),
                function,
            )
        return None

    # -- set-up before, reports after ----------------------------------------------------------

    def _extend(self, block, region: EvalRegion, site: Origin) -> None:
        """Pull in `model.eval()` and accumulator set-up just before the loop, and the reports
        just after it that read only what the evaluation computed."""
        anchor = block[region.first]
        read_by_anchor = names_read(self.index, [anchor])
        first = region.first
        while first > 0:
            previous = block[first - 1]
            if is_mode_switch(previous, self.plan.model_vars, "eval") or (
                _is_simple_assignment(previous)
                and names_written(self.index, [previous]) <= read_by_anchor
            ):
                first -= 1
            else:
                break
        region.start = _moved(block[first : region.first], site) + region.start
        region.first = first
        region.step = [Moved(s, region.loop_origin) for s in region.loop.body.body]

        written = names_written(self.index, [m.node for m in region.start] + [anchor])
        last = region.last
        while last + 1 < len(block):
            following = block[last + 1]
            reads = names_read(self.index, [following])
            others = names_written(self.index, block[: region.first]) - written
            if reads & written and not reads & others and not _is_compound(following):
                last += 1
            else:
                break
        region.end += _moved(block[region.last + 1 : last + 1], site)
        region.last = last


def _moved(statements, origin: Origin) -> list[Moved]:
    return [Moved(s, origin) for s in statements]


def _is_return(statement) -> bool:
    return m.matches(statement, m.SimpleStatementLine(body=[m.Return()]))


def _is_compound(statement) -> bool:
    return isinstance(statement, cst.BaseCompoundStatement)


def _is_simple_assignment(statement) -> bool:
    return m.matches(statement, m.SimpleStatementLine(body=[m.Assign() | m.AugAssign()]))
