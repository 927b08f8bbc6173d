"""The module after `trainer.fit(...)` and `trainer.test(...)`, as the original's loop left it:
its gradients, and its device. (Its train/eval mode: `model_mode`.)

Gradients. The loop leaves the last batch's gradients in the parameters (it zeroes them before
each backward); Lightning clears them before every validation (the `on_validation_model_zero_grad`
hook) and whenever a stage starts (`Trainer._run_stage` calls `zero_grad()`, so `trainer.test`
clears what fit left). So the module keeps them through validation (that hook does nothing), and
the site keeps them through `trainer.test`. A loop that zeroes after each step instead ends with
none: Lightning zeroes before each backward, so the module zeroes them once more when training
ends.

Device. Lightning's teardown moves the module back to the CPU after fit and after test
(`Strategy.teardown`); where the code after training goes on using the model, the original's own
device move runs again there (`model.to(device)`), so the model is where the original had it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis.bindings import (
    assigned_value,
    bindings,
    is_device_move_of,
    method_call,
)
from converter.analysis.dataflow import statements_after
from converter.analysis.index import SourceIndex
from converter.analysis.names import names_read
from converter.analysis.site import Claim, Hook, StageName, TrainingSite
from converter.targets.trainer.patterns.base import Emission, Example, Pattern
from converter.templating import expr, fill


@dataclass
class AfterFitState:
    zeroes_after_step: cst.BaseExpression | None = None  # `optimizer` in its zero_grad() after
    keeps_through_validation: bool = False
    keeps_through_test: bool = False
    # the models' device moves, and the original nodes whose names they read
    moves: list[tuple[cst.BaseStatement, list[cst.CSTNode]]] = field(default_factory=list)
    moved_after_fit: bool = False
    moved_after_test: bool = False


class ModuleAfterFit(Pattern):
    name = "module-after-fit"
    example = Example(
        shape="the model used after the loop (its gradients, its device)",
        becomes="the last batch's gradients kept; the model moved back to its device after fit",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1).to(device)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        val_loader = DataLoader(TensorDataset(torch.randn(16, 4), torch.randn(16, 1)))
        for epoch in range(3):
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                for x, y in val_loader:
                    x, y = x.to(device), y.to(device)
                    print(nn.functional.mse_loss(model(x), y).item())
        print(model.weight.grad)
        print(model(torch.ones(1, 4, device=device)))
        """,
        after='''
            def on_validation_model_zero_grad(self):
                """Lightning clears the gradients here; the loop kept the last batch's through evaluation."""
        ...
        trainer.fit(lit_model, train_dataloaders=loader, val_dataloaders=val_loader)
        model.to(device)  # where the loop left it (Lightning's teardown moved it to the CPU)
        print(model.weight.grad)
        ''',  # noqa: E501
    )
    State = AfterFitState

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        state = site.state(self)
        state.zeroes_after_step = None if site.manual else _zeroed_after_step(site)
        grads_left = state.zeroes_after_step is None
        state.keeps_through_validation = grads_left and StageName.VALIDATION in site.stages
        state.keeps_through_test = grads_left and bool(site.test_region)
        state.moves = _device_moves(site, index)
        if state.moves:
            after_fit = statements_after(index, site.outer_loop)
            if site.test_region:  # what runs before the test (which moves the model itself)
                tested = index.order(site.test_region[0])
                after_fit = [s for s in after_fit if index.order(s) < tested]
            after_test = statements_after(index, site.test_region[-1]) if site.test_region else []
            state.moved_after_fit = _reads_model(index, site, after_fit)
            state.moved_after_test = _reads_model(index, site, after_test)

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        state = site.state(self)
        module = cst.Name(out.module)
        if state.keeps_through_validation:
            out.methods += fill("keep_gradients_through_validation")
        if state.zeroes_after_step is not None:
            out.methods += fill("zero_gradients_at_train_end", receiver=state.zeroes_after_step)
        moves = [move for move, reads in state.moves if _visible(index, site, out, reads)]
        if state.moved_after_fit:
            out.after_fit += moves
        if state.moved_after_test:
            out.after_test += [move.deep_clone() for move in moves]
        if state.keeps_through_test:
            grads = cst.Name(index.fresh_name("grads"))
            out.before_test += fill("gradients_before_test", grads=grads, module=module)
            out.after_test += fill(
                "gradients_after_test",
                grads=grads,
                module=module,
                parameter=cst.Name(index.fresh_name("parameter")),
                grad=cst.Name(index.fresh_name("grad")),
            )

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        line = index.line(site.outer_loop)
        if state.keeps_through_validation:
            report.change(
                "gradients",
                line,
                "on_validation_model_zero_grad does nothing: the loop kept the last batch's "
                "gradients through its evaluation, Lightning would clear them",
            )
        if state.keeps_through_test:
            report.change(
                "gradients",
                index.line(site.test_region[0]),
                "the gradients are handed back after trainer.test, which clears them as it starts",
            )
        if state.zeroes_after_step is not None:
            report.change(
                "gradients",
                line,
                "on_train_end zeroes the gradients: the loop zeroed them after each step",
            )
        if state.moves and (state.moved_after_fit or state.moved_after_test):
            report.change(
                "device",
                line,
                "the model is moved back to its device after training (Lightning's teardown "
                "leaves it on the CPU), for the code after training that uses it",
            )


def _zeroed_after_step(site: TrainingSite) -> cst.BaseExpression | None:
    """What the batch loop's zero_grad() after its optimizer step is called on: `self` for the
    model, `self.optimizers()` for the optimizer; None where it zeroes before backward."""
    zeroed = site.claimed(Hook.TRAINING_STEP, Claim.ZERO_GRAD)
    stepped = site.claimed(Hook.TRAINING_STEP, Claim.STEP)
    body = site.batch_body
    if len(zeroed) != 1 or len(stepped) != 1 or zeroed[0] not in body or stepped[0] not in body:
        return None
    if body.index(zeroed[0]) < body.index(stepped[0]):
        return None
    receiver = method_call(zeroed[0])[0]
    if site.loop_origin.site_name(receiver) in site.model_vars:
        return expr("self")
    return expr("self.optimizers()")


def _device_moves(site: TrainingSite, index: SourceIndex):
    """The statements that moved the models to their device before training, as the site can
    run them again: `model.to(device)` for `model = Net().to(device)`, and each later move of
    the model's own block (`model.to(device)`, `model = model.cuda()`), or the `if` around it
    that holds only such moves (`if use_gpu: model = model.cuda()`)."""
    moves = []
    before = index.line(site.train_part)
    for model in site.models:
        created = assigned_value(model.binding, model.var)
        chain = []
        node = created
        while node is not model.call and isinstance(node, cst.Call):
            chain.append(node)
            node = node.func.value if isinstance(node.func, cst.Attribute) else None
        move: cst.BaseExpression = cst.Name(model.var)
        for call in reversed(chain):
            move = call.with_changes(func=call.func.with_changes(value=move))
        if chain:
            moves.append((_commented(cst.SimpleStatementLine([cst.Expr(move)])), chain))
        block = index.parent(model.binding)
        for statement in site.removed:
            if not is_device_move_of(statement, model.var) or index.line(statement) >= before:
                continue
            if index.parent(statement) is block:
                again = _commented(statement.deep_clone().with_changes(leading_lines=[]))
                moves.append((again, [statement]))
                continue
            holder = index.parent(index.parent(statement))
            if (
                isinstance(holder, cst.If)
                and holder.orelse is None
                and index.parent(holder) is block
                and all(s in site.removed for s in holder.body.body)
                and not any(holder is original for _, (original, *_) in moves)
            ):
                comment = cst.EmptyLine(comment=cst.Comment(_WHERE))
                again = holder.deep_clone().with_changes(leading_lines=[comment])
                moves.append((again, [holder]))
    return moves


_WHERE = "# where the loop left it (Lightning's teardown moved it to the CPU)"


def _commented(statement: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    comment = cst.Comment(_WHERE)
    return statement.with_changes(
        trailing_whitespace=cst.TrailingWhitespace(cst.SimpleWhitespace("  "), comment)
    )


def _reads_model(index: SourceIndex, site: TrainingSite, statements) -> bool:
    return bool(names_read(index, statements) & site.model_vars)


def _visible(index: SourceIndex, site: TrainingSite, out: Emission, reads) -> bool:
    """Whether each name the original move read is still bound at the site after training."""
    removed = set(map(id, site.removed + out.site_removals))
    for name in names_read(index, reads) - site.model_vars:
        found = bindings(index, site.site_scope, name) + bindings(
            index, index.body_scope(None), name
        )
        if any(id(statement) in removed for statement in found):
            return False
    return True


PATTERN = ModuleAfterFit()
