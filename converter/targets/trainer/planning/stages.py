"""Pass 3: the stages. The batch loop and the code around it become the train stage, the epoch
loop's range becomes `max_epochs`, an evaluation after the batch loop in each epoch becomes the
validation stage and one after training the test stage; then the patterns reshape them."""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import (
    block_of,
    code,
    epoch_range,
    is_main_guard,
    method_call,
    split_around,
)
from converter.analysis.index import SourceIndex
from converter.analysis.loops import stage_of_loop
from converter.analysis.models import is_mode_sensitive
from converter.analysis.names import names_read, names_written
from converter.analysis.regions import RegionFinder
from converter.analysis.site import Declined, EpochLoop, Moved, Role, StageName, TrainingSite
from converter.analysis.walk import find
from converter.report import FABRIC_HINT
from converter.targets.trainer.patterns import PATTERNS


def build_stages(site: TrainingSite, index: SourceIndex) -> None:
    epoch_loop = _epoch_loop(site, index)
    if not any(p.build_train_stage(site, index, epoch_loop) for p in PATTERNS):
        _train_stage(site, index)
        if epoch_loop is not None:
            _epoch(site, index, epoch_loop)
        else:
            site.epoch = EpochLoop(None, None, cst.Integer("1"))
    if site.step_function is not None:  # in a batch loop, or a full-batch loop's round
        site.train.step = _with_step_function(site, index, site.train.step)
    _test_stage(site, index, epoch_loop or site.train_part)
    for pattern in PATTERNS:
        pattern.reshape(site, index)
    for stage in site.stages.values():
        site.bind(stage.loader.value, Role.LOADER)
    if site.epoch is not None and site.epoch.var:
        site.bind(site.epoch.var, Role.EPOCH)


def _epoch_loop(site: TrainingSite, index: SourceIndex) -> cst.For | None:
    train_part = site.train_part
    parent = index.parent(train_part)
    holder = index.parent(parent) if parent is not None else None
    if isinstance(holder, cst.For) and train_part in holder.body.body:
        return holder
    if isinstance(holder, (cst.FunctionDef, cst.Module)) or isinstance(parent, cst.Module):
        return None
    if isinstance(holder, cst.If) and is_main_guard(holder):
        return None
    if isinstance(holder, cst.While):
        raise Declined(
            index.line(holder),
            "the epoch loop is a `while` loop, which it cannot lift into the Trainer's fixed "
            f"number of epochs{FABRIC_HINT}",
        )
    lifted = holder if isinstance(holder, cst.CSTNode) else train_part
    raise Declined(
        index.line(lifted),
        f"the training loop is nested in statements it cannot lift (the {_kind(lifted)} on "
        f"this line){FABRIC_HINT}",
    )


def _kind(node: cst.CSTNode) -> str:
    names = {cst.For: "`for` loop", cst.If: "`if`", cst.With: "`with` block", cst.Try: "`try`"}
    return next((v for k, v in names.items() if isinstance(node, k)), "statement")


def _train_stage(site: TrainingSite, index: SourceIndex) -> None:
    loop = site.batch_loop
    train = stage_of_loop(index, StageName.TRAIN, loop, site.loop_origin)
    train.step = [Moved(s, site.loop_origin) for s in loop.body.body]
    if loop.orelse is not None:  # no break (see stage_of_loop): it runs right after the batches
        train.end += [Moved(s, site.loop_origin) for s in loop.orelse.body.body]
    if site.inlined:
        (function,) = site.inlined.values()
        before, after = split_around(function.body.body, loop)
        train.start += [Moved(s, site.loop_origin) for s in before]
        if after and m.matches(after[-1], m.SimpleStatementLine(body=[m.Return()])):
            after = after[:-1]  # its value, if used, is assigned below
        train.end += [Moved(s, site.loop_origin) for s in after]
        if site.train_result is not None:
            train.end.append(Moved(site.train_result, site.loop_origin))
    site.stages[StageName.TRAIN] = train


def _with_step_function(site: TrainingSite, index: SourceIndex, step: list[Moved]) -> list[Moved]:
    """The step function's body in place of its call, its parameters bound to the call's
    arguments, and what it returns assigned as the loop did (`loss = <returned value>`)."""
    inlined = site.step_function
    function = inlined.function
    body = list(function.body.body)
    if body and m.matches(body[-1], m.SimpleStatementLine(body=[m.Return()])):
        body = body[:-1]
    moved = [Moved(s, inlined.origin) for s in body]
    if inlined.result is not None:
        moved.append(Moved(inlined.result, inlined.origin))
    own = {a.name for a in inlined.origin.scope.assignments if a.scope is inlined.origin.scope}
    own -= set(dict(inlined.origin.params))
    targets = set(names_written(index, [inlined.statement]))
    others = [item.node for item in step if item.node is not inlined.statement]
    clash = own & (names_read(index, others) | names_written(index, others)) - targets
    clash |= own & {n.value for n in find(site.batch_loop.target, cst.Name)}
    if clash:
        raise Declined(
            index.line(function),
            f"{function.name.value}() has locals the batch loop uses too: "
            + ", ".join(f"`{n}`" for n in sorted(clash)),
        )
    site.deleted_functions.append(function)
    at = next(i for i, item in enumerate(step) if item.node is inlined.statement)
    return step[:at] + moved + step[at + 1 :]


def _epoch(site: TrainingSite, index: SourceIndex, epoch_loop: cst.For) -> None:
    if epoch_loop.orelse is not None:
        raise Declined(index.line(epoch_loop), "the epoch loop has an else: block")
    if not isinstance(epoch_loop.target, cst.Name):
        batch_loop = site.batch_loop
        if isinstance(batch_loop, cst.For) and m.matches(
            batch_loop.iter, m.Call(func=m.Name("range"))
        ):
            # `for _ in range(n_critic):` inside the loop over the data: the innermost loop
            # with backward() is not the batch loop here.
            raise Declined(
                index.line(batch_loop),
                f"backward() is in a loop over {code(batch_loop.iter)} inside the loop over "
                f"{code(epoch_loop.iter)}: several optimizer steps per batch (like a WGAN "
                "critic's) are not converted to training_step",
            )
        raise Declined(index.line(epoch_loop), "the epoch loop's variable is not a plain name")
    counted = next((r for p in PATTERNS if (r := p.epochs(epoch_loop, index)) is not None), None)
    start, max_epochs = epoch_range(index, epoch_loop, counted)
    site.epoch = EpochLoop(epoch_loop.target.value, start, max_epochs, epoch_loop)
    train = site.train
    before, after = split_around(epoch_loop.body.body, site.train_part)
    train.start = [Moved(s, site.origin) for s in before] + train.start
    region = RegionFinder(index, site).find(after, site.origin)
    if region is None:
        train.end += [Moved(s, site.origin) for s in after]
        return
    validation = site.stages[StageName.VALIDATION] = region.stage(index, StageName.VALIDATION)
    if region.function is not None:
        site.deleted_functions.append(region.function)
    # Lightning validates right after the epoch's last batch, before on_train_epoch_end. Each
    # hook keeps to its own loop's state, so that validation also runs alone (the sanity check,
    # trainer.validate) and training without it (check_val_every_n_epoch):
    # - the epoch's wrap-up that the original ran before evaluating is training code: it runs
    #   after the last batch, in on_train_batch_end, before Lightning validates;
    # - the epoch's code after evaluating, up to the last statement that reads the evaluation's
    #   results, ends on_validation_epoch_end, during fit only; so does the evaluation's own
    #   report from where it reads the training's state (`print(train_loss, val_acc)`);
    # so everything happens (and prints) in the original order. Scheduler steps stay in
    # on_train_epoch_end, where Lightning steps them anyway.
    wrap_up = train.end + [Moved(s, site.origin) for s in after[: region.first]]
    steps = [item for item in wrap_up if _steps_scheduler(site, item)]
    site.before_validation = [item for item in wrap_up if item not in steps]
    train.batch_end += site.before_validation
    trained = names_written(index, [item.node for item in train.start + train.step + wrap_up])
    trained |= _loop_names(train)
    reporting = _reading_training(index, validation, trained)
    validation.end = [item for item in validation.end if item not in reporting]
    following = [Moved(s, site.origin) for s in after[region.last + 1 :]]
    evaluated = names_written(
        index, [item.node for moved in validation.hooks().values() for item in moved]
    )
    evaluated |= names_written(index, [item.node for item in reporting])
    # (not past a ReduceLROnPlateau step on a metric: what follows it stays after it, where
    # the plateau pattern puts it)
    stepped = [i for i, item in enumerate(following) if _steps_on_metric(site, item)]
    before_step = following[: stepped[0]] if stepped else following
    reading = reporting + _reading_results(index, before_step, evaluated)
    site.after_validation = [item for item in reading if not _steps_scheduler(site, item)]
    validation.end += site.after_validation
    train.end = steps + [item for item in following if item not in site.after_validation]


def _loop_names(stage) -> set[str]:
    names = {n.value for n in find(stage.batch_target, cst.Name)}
    return names | ({stage.index_name} if stage.index_name else set())


def _reading_training(index: SourceIndex, validation, trained: set[str]) -> list[Moved]:
    """The evaluation's closing statements from the first that reads what the training set
    (and the evaluation did not set again)."""
    own = names_written(index, [item.node for item in validation.start + validation.step])
    own |= _loop_names(validation)
    for position, item in enumerate(validation.end):
        if names_read(index, [item.node]) & (trained - own):
            return validation.end[position:]
        own |= names_written(index, [item.node])
    return []


def _reading_results(index: SourceIndex, following: list[Moved], evaluated: set[str]):
    """The statements of `following` up to the last one that reads what the evaluation set
    (directly, or through a name an earlier such statement set)."""
    last, needed = -1, set(evaluated)
    for position, item in enumerate(following):
        if names_read(index, [item.node]) & needed:
            last = position
            needed |= names_written(index, [item.node])
    return following[: last + 1]


def _steps_on_metric(site: TrainingSite, item: Moved) -> bool:
    return _steps_scheduler(site, item) and bool(method_call(item.node)[2].args)


def _steps_scheduler(site: TrainingSite, item: Moved) -> bool:
    found = method_call(item.node)
    return (
        found is not None
        and found[1] == "step"
        and site.role_of(item.origin.site_name(found[0])) is Role.SCHEDULER
    )


def _test_stage(site: TrainingSite, index: SourceIndex, loop_statement) -> None:
    block = block_of(index, loop_statement)
    following = block[block.index(loop_statement) + 1 :]
    region = RegionFinder(index, site).find(following, site.origin)
    if region is None or _stays_plain(site, index, region):
        return
    site.stages[StageName.TEST] = region.stage(index, StageName.TEST)
    if region.function is not None:
        site.deleted_functions.append(region.function)
    site.test_region = following[region.first : region.last + 1]


def _stays_plain(site: TrainingSite, index: SourceIndex, region) -> bool:
    """An evaluation after training that trainer.test would run otherwise stays plain code
    after fit, where it computes what the original did: one that stops early (`break` after
    the first batch, to show it) or runs the model in training mode."""
    return _stops_early(index, region) or _evaluates_in_train_mode(site, index, region)


def _stops_early(index: SourceIndex, region) -> bool:
    return any(
        index.enclosing_loop(node) is region.loop
        for node in find(region.loop.body, (cst.Break, cst.Return))
    )


def _evaluates_in_train_mode(site: TrainingSite, index: SourceIndex, region) -> bool:
    """The model's dropout or batch norm depend on the mode, and nothing in the evaluation calls
    `.eval()` (on anything: a switch it cannot place keeps the evaluation for trainer.test, whose
    checks decide): trainer.test would run it in eval mode."""
    if not any(is_mode_sensitive(model.cls, index, model.call) for model in site.models):
        return False
    statements = [item.node for item in region.start + region.end] + [region.loop]
    if region.function is not None:
        statements.append(region.function)
    return not any(
        isinstance(call.func, cst.Attribute) and call.func.attr.value == "eval"
        for statement in statements
        for call in find(statement, cst.Call)
    )
