"""`trainer.predict(model, loader)`: Lightning's default `predict_step` hands the whole batch to
`forward`, which for `(inputs, targets)` batches is not what the model takes. Where the
evaluation (else the training step) unpacks its batch and calls the model once on what it
unpacked (`x, y = batch` ... `model(x)`), maybe reshaped first with torch alone (`x =
x.view(-1, 784)`), the module gets a `predict_step` that does the same and returns the model's
output: what `trainer.predict` then collects."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from converter.analysis import match as m
from converter.analysis.index import SourceIndex
from converter.analysis.names import names_read, names_written
from converter.analysis.site import Role, Stage, StageName, TrainingSite
from converter.analysis.walk import find
from converter.targets.trainer.patterns.base import Emission, Example, Pattern
from converter.templating import expr, fill

_MOVES = {"to", "cuda", "cpu", "type"}


@dataclass
class PredictState:
    stage: Stage | None = None  # whose batch and model call predict_step repeats
    line: int = 0


class PredictStep(Pattern):
    name = "predict-step"
    example = Example(
        shape="batches unpacked as `x, y = batch` and the model called on `x`",
        becomes="a `predict_step` that unpacks the batch the same way (`trainer.predict`)",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
        """,
        after="""
            def predict_step(self, batch, batch_idx):
                x, y = batch
                return self(x)
        """,
    )
    State = PredictState

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        for name in (StageName.VALIDATION, StageName.TEST, StageName.TRAIN):
            stage = site.stages.get(name)
            found = _model_call(site, index, stage) if stage is not None else None
            if found is None:
                continue
            call, var, unpacks = found
            target = stage.batch_target
            if isinstance(target, cst.Name) and _is_name(call, target.value) and not unpacks:
                return  # Lightning's own predict_step does this already
            model = "self" if var == site.model.var else site.model_attribute(var)
            output = call.with_changes(func=expr(model))
            if isinstance(target, cst.Name):
                batch, body = target, [u.with_changes(leading_lines=[]) for u in unpacks]
            else:
                bare = target.with_changes(lpar=[], rpar=[]) if hasattr(target, "lpar") else target
                batch = cst.Name("batch")
                body = [cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(bare)], batch)])]
                body += [u.with_changes(leading_lines=[]) for u in unpacks]
            body.append(cst.SimpleStatementLine([cst.Return(output)]))
            hook, batch_idx = cst.Name("predict_step"), cst.Name("batch_idx")
            out.methods += fill("batch_hook", hook=hook, batch=batch, index=batch_idx, body=body)
            state = site.state(self)
            state.stage, state.line = stage, index.line(call)
            return
        train = site.stages.get(StageName.TRAIN)
        target = train.batch_target if train is not None else None
        whole = isinstance(target, cst.Name) and any(
            _is_name(call, target.value)
            for item in train.step
            for call in find(item.node, cst.Call)
            if item.origin.site_name(call.func) == site.model.var  # the model forward calls
        )
        if train is not None and not whole:  # Lightning's own predict_step would not fit
            site.state(self).line = index.line(train.loop)

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        if state.stage is None and state.line:
            report.find(
                "predict",
                state.line,
                "no predict_step: the model's inputs are not taken from the batch as they are "
                "(or reshaped with torch alone); trainer.predict hands forward the whole batch: "
                "write a predict_step for the data you predict on",
            )
        if state.stage is not None:
            report.change(
                "predict",
                state.line,
                f"predict_step: the model's output for each batch, unpacked as the "
                f"{state.stage.name.value} loop does (trainer.predict)",
            )


def _model_call(site: TrainingSite, index: SourceIndex, stage: Stage):
    """The one call of a model in the stage's step, `model(x)`, when it reads only what the
    loop took from the batch (in the loop's target, or unpacked from it first: `inputs, labels =
    data`), maybe shaped first (`x = x.view(-1, 784)`): (call, model variable, those unpacking
    and shaping statements); else None."""
    calls = [
        (call, item)
        for item in stage.step
        for call in find(item.node, cst.Call)
        if item.origin.site_name(call.func) in site.model_vars
    ]
    if len(calls) != 1:
        return None
    call, item = calls[0]
    unpacked = {n.value for n in find(stage.batch_target, cst.Name)}
    earlier = stage.step[: stage.step.index(item)]
    kept = []  # what predict_step repeats before the call: unpacking, then shaping the inputs
    for other in earlier:
        node = other.node
        if _unpacks(node, unpacked) and not kept:
            kept.append(node)
            unpacked |= {n.value for n in find(node.body[0].targets[0].target, cst.Name)}
        elif _moves_batch(site, index, other.node, other.origin, unpacked):
            continue  # Lightning moves the batch
        elif _shapes_inputs(site, index, other, unpacked):
            kept.append(_without_device_move(site, index, other))
            unpacked |= names_written(index, [node])
        elif names_written(index, [node]) & unpacked:
            return None
    if any(a.star for a in call.args):
        return None
    attributes = {id(a.attr) for a in find(call, cst.Attribute)}
    keywords = {id(a.keyword) for a in call.args if a.keyword is not None}
    for arg in call.args:
        if find(arg.value, cst.Call) or find(arg.value, cst.Lambda):
            return None
        for name in find(arg.value, cst.Name):
            if id(name) not in attributes | keywords and name.value not in unpacked:
                return None
    if not call.args:
        return None
    return call, item.origin.site_name(call.func), _needed(index, kept, call)


def _needed(index: SourceIndex, kept: list[cst.BaseStatement], call: cst.Call):
    """The unpacking, and of the shaping statements those the call's inputs come from."""
    wanted = names_read(index, [call])
    needed = []
    for statement in reversed(kept):
        written = names_written(index, [statement])
        assign = statement.body[0]  # `inputs, labels = data` stays: it names the inputs
        unpacking = isinstance(assign.value, cst.Name) and isinstance(
            assign.targets[0].target, (cst.Tuple, cst.List)
        )
        if unpacking or written & wanted:
            needed.insert(0, statement)
            wanted |= names_read(index, [statement])
    return needed


def _shapes_inputs(site: TrainingSite, index: SourceIndex, item, batch: set[str]) -> bool:
    """`images = images.reshape(-1, 28 * 28).to(device)`: a name set from the batch's names
    alone, by tensor methods and torch's functions (no model, no global state)."""
    statement = item.node
    if not m.matches(statement, m.SimpleStatementLine([m.Assign()])):
        return False
    assign = statement.body[0]
    if not all(isinstance(t.target, cst.Name) for t in assign.targets):
        return False
    value = _without_device_move(site, index, item).body[0].value
    attributes = {id(a.attr) for a in find(value, cst.Attribute)}
    keywords = {id(a.keyword) for c in find(value, cst.Call) for a in c.args if a.keyword}
    for name in find(value, cst.Name):
        if id(name) in attributes | keywords or name.value in batch:
            continue
        if not index.resolves_to(name, "torch", "builtins"):
            return False
    for c in find(value, cst.Call):
        if item.origin.site_name(c.func) in site.model_vars:
            return False
        moves = isinstance(c.func, cst.Attribute) and c.func.attr.value in _MOVES
        if (
            moves
            or index.resolves_to(c.func, "torch.device")
            or any(a.keyword and a.keyword.value == "device" for a in c.args)
        ):
            return False  # a device of its own: the training step's rewrite of it is not here
    return True


def _without_device_move(site: TrainingSite, index: SourceIndex, item) -> cst.BaseStatement:
    """The statement without a trailing `.to(device)` / `.cuda()` (Lightning moves batches)."""
    statement = item.node
    if not m.matches(statement, m.SimpleStatementLine([m.Assign()])):
        return statement
    value = statement.body[0].value
    if _is_device_move(site, index, item.origin, value):
        value = value.func.value
    return statement.with_changes(body=[statement.body[0].with_changes(value=value)])


def _unpacks(statement: cst.CSTNode, batch: set[str]) -> bool:
    """`inputs, labels = data`: names for the parts of what the loop took from the batch."""
    if not m.matches(statement, m.SimpleStatementLine([m.Assign([m.AssignTarget()])])):
        return False
    assign = statement.body[0]
    target = assign.targets[0].target
    names = [e.value for e in target.elements] if isinstance(target, (cst.Tuple, cst.List)) else []
    return (
        isinstance(assign.value, cst.Name)
        and assign.value.value in batch
        and bool(names)
        and all(isinstance(n, cst.Name) for n in names)
    )


def _moves_batch(site: TrainingSite, index: SourceIndex, statement, origin, unpacked) -> bool:
    """`x, y = x.to(device), y.to(device)`, also under a condition of its own (`if use_gpu:`):
    what the hooks drop (Lightning moves batches)."""
    if isinstance(statement, cst.If) and statement.orelse is None:
        body = statement.body.body
        return bool(body) and all(_moves_batch(site, index, s, origin, unpacked) for s in body)
    if not m.matches(statement, m.SimpleStatementLine([m.Assign([m.AssignTarget()])])):
        return False
    assign = statement.body[0]
    target, value = assign.targets[0].target, assign.value
    pairs = (
        [(t.value, v.value) for t, v in zip(target.elements, value.elements)]
        if isinstance(target, cst.Tuple)
        and isinstance(value, cst.Tuple)
        and len(target.elements) == len(value.elements)
        else [(target, value)]
    )
    return all(
        isinstance(name, cst.Name)
        and name.value in unpacked
        and _is_device_move(site, index, origin, moved)
        and m.matches(moved.func.value, m.Name(name.value))
        for name, moved in pairs
    )


def _is_device_move(site: TrainingSite, index: SourceIndex, origin, value) -> bool:
    """`x.cuda()`, `x.to(device)` with the script's device (or a `torch.device`)."""
    if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)):
        return False
    method, args = value.func.attr.value, value.args
    if method == "cuda":
        return not args
    return (
        method == "to"
        and len(args) == 1
        and (
            site.role_of(origin.site_name(args[0].value)) is Role.DEVICE
            or index.resolves_to(args[0].value, "torch.device")
        )
    )


def _is_name(call: cst.Call, name: str) -> bool:
    """`model(batch)`: the whole batch, alone."""
    return (
        len(call.args) == 1
        and call.args[0].keyword is None
        and isinstance(call.args[0].value, cst.Name)
        and call.args[0].value.value == name
    )


PATTERN = PredictStep()
