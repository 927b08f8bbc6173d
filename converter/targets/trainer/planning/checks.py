"""Checks of the planned site that no single pattern owns: control flow that would leave a loop
or function which no longer exists once the code moved into hooks, optimizers that would be
created once where the script made them every epoch, and random draws that would change places
with a DataLoader's. (Each pattern checks its own shape in its `check`.)"""

from __future__ import annotations

import libcst as cst

from converter.analysis.bindings import (
    assigned_call,
    bindings,
    bound_names,
    code,
    single_binding,
)
from converter.analysis.fstring_quotes import enclosing_quote, requoted
from converter.analysis.index import SourceIndex
from converter.analysis.names import names_written
from converter.analysis.randomness import global_random_calls
from converter.analysis.site import (
    STAGE_HOOKS,
    Declined,
    Hook,
    Moved,
    Role,
    Stage,
    StageName,
    TrainingSite,
)
from converter.analysis.torch_api import BACKWARD_CALL
from converter.analysis.walk import find

# Statements that act on the loop or function around them; `await` suspends the coroutine
# around it, and Lightning's hooks are plain methods.
_ESCAPING = (cst.Break, cst.Continue, cst.Return, cst.Yield, cst.Global, cst.Nonlocal, cst.Await)
_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


def check_control_flow(site: TrainingSite, index: SourceIndex) -> None:
    """break/continue/return/yield/global/nonlocal whose target is outside the moved statement,
    unless a pattern turns it into Lightning's own control (`site.exits`)."""
    for (stage, hook), items in site.hooks().items():
        for moved in items:
            for node in find(moved.node, _ESCAPING):
                if node in site.exits or not _escapes(index, moved, node):
                    continue
                raise Declined(index.line(node), _escape_message(node, stage, hook))


def _escape_message(node: cst.CSTNode, stage: StageName | None, hook: Hook) -> str:
    """What the statement leaves, said for the loop it is in, and why Lightning cannot do it."""
    word = f"`{type(node).__name__.lower()}`"
    if hook in (Hook.TRAINING_STEP, Hook.ON_TRAIN_BATCH_END):
        return f"{word} inside the training batch loop's code"
    if stage is StageName.TRAIN:
        if isinstance(node, cst.Break):
            return (
                "`break` out of the epoch loop where Lightning cannot stop: early stopping "
                "converts when the `break` is the last thing an epoch does (it becomes "
                "`self.trainer.should_stop = True`, read after the epoch)"
            )
        return f"{word} inside the epoch loop's code"
    evaluation, short = ("validation", "val") if stage is StageName.VALIDATION else ("test",) * 2
    if stage is None:
        return f"{word} inside the optimizer's setup"
    if hook.is_step and isinstance(node, cst.Break):
        return (
            f"`break` inside the {evaluation} loop: Lightning runs every {evaluation} batch "
            f"(a fixed number of batches would be `limit_{short}_batches`)"
        )
    if hook.is_step:
        return f"{word} inside the {evaluation} loop"
    return f"{word} inside the code around the {evaluation} loop"


def check_arguments_fit_fstrings(site: TrainingSite, index: SourceIndex) -> None:
    """An inlined function's parameter read inside an f-string's braces is replaced by the call's
    argument: a string argument must be able to take the other quote there."""
    for moved in site.all_moved():
        if not moved.origin.params:
            continue
        for name in find(moved.node, cst.Name):
            argument = moved.origin.argument(name.value)
            quote = enclosing_quote(index, name) if argument is not None else None
            if quote is not None and requoted(argument, quote) is None:
                raise Declined(
                    index.line(name),
                    f"the argument for `{name.value}` is a string that cannot go inside this "
                    "f-string's braces (it uses both quotes or a backslash); bind it to a "
                    "variable first",
                )


def check_setup_runs_once(site: TrainingSite, index: SourceIndex) -> None:
    """configure_optimizers runs once, before training: what moves there (the optimizers and
    schedulers) must be created once, before the training loop, as well."""
    for moved in site.setup:
        if any(a is site.outer_loop for a in index.ancestors(moved.node)):
            name = ", ".join(bound_names(moved.node))
            raise Declined(
                index.line(moved.node),
                f"`{name}` is created anew inside the training loop; Lightning creates the "
                "optimizers once, in configure_optimizers",
            )


def check_repeated_training(site: TrainingSite, index: SourceIndex, flow) -> None:
    """Training inside another loop (`for rep in range(2):` around the epochs) becomes a new
    Trainer and module each time round, and configure_optimizers a new optimizer: exact only
    where the script, too, made the optimizers (and schedulers, scalers) anew each time and
    carries no loop state over from one round to the next."""
    repeat = _repeating_loop(site, index)
    if repeat is None:
        return
    for statement in [item.node for item in site.setup] + site.removed:
        if assigned_call(statement) is None or not any(
            site.role_of(name) in _MADE_BY_LIGHTNING for name in bound_names(statement)
        ):
            continue  # a device move, DDP's setup, the model's own wrapping
        if not _contains(index, repeat, statement):
            raise Declined(
                index.line(statement),
                f"`{', '.join(bound_names(statement))}` is created once, before the loop at "
                f"line {index.line(repeat)} that repeats the training, and keeps its state from "
                "round to round; Lightning would create it afresh for each round's Trainer",
            )
    moved = [item.node for item in site.all_moved()]
    for name in sorted(flow.attributes):
        for statement in bindings(index, site.site_scope, name):
            if not any(statement is n or _contains(index, n, statement) for n in moved):
                raise Declined(
                    index.line(statement),
                    f"`{name}` is loop state that the module would hold, and the loop at line "
                    f"{index.line(repeat)} repeats the training: a new module and Trainer each "
                    "round would not carry it over (or reset it) as the script does",
                )


# What Lightning makes for each fit in place of the script's object: the optimizers and
# schedulers, a GradScaler (no role of its own), a DistributedSampler.
_MADE_BY_LIGHTNING = (None, Role.OPTIMIZER, Role.SCHEDULER, Role.OTHER)


def _repeating_loop(site: TrainingSite, index: SourceIndex) -> cst.CSTNode | None:
    """The loop around the training loop in the same function, if any."""
    for ancestor in index.ancestors(site.outer_loop):
        if isinstance(ancestor, (cst.For, cst.While)):
            return ancestor
        if isinstance(ancestor, _SCOPES):
            return None
    return None


def check_random_draws_keep_their_place(site: TrainingSite, index: SourceIndex) -> None:
    """Code before a loop over a DataLoader ran before that loop started its iterator, which
    draws the loader's seed from torch's global generator. Lightning starts the iterator first
    and then runs the stage's epoch-start hook (on_train_epoch_start: for the first epoch; the
    evaluation hooks: every time), so a draw or reseed there would get other numbers, and a
    shuffled epoch other batches."""
    for stage in site.stages.values():
        if not stage.start or _own_generator(site, index, stage):
            continue
        calls = global_random_calls(index, [item.node for item in stage.start])
        if calls:
            hook = STAGE_HOOKS[stage.name][0].value
            which = "the first epoch's" if stage.name is StageName.TRAIN else "its"
            raise Declined(
                index.line(calls[0]),
                f"`{code(calls[0])}` draws from (or reseeds) torch's global random generator "
                f"before the loop over `{code(stage.loader)}`; Lightning starts {which} "
                f"iterator over that loader, which draws its seed from the same generator, "
                f"before {hook}: the draws (and shuffled batches) would differ",
            )


def check_own_generator_runs_out(site: TrainingSite, index: SourceIndex) -> None:
    """A shuffling DataLoader with a generator of its own: the script's loop runs the sampler to
    its end, where RandomSampler draws one more (empty) permutation from that generator; Lightning
    stops after the epoch's last batch, so every later epoch would shuffle differently."""
    call = _loader_call(site, index, site.train)
    generator, shuffle = _keyword(call, "generator"), _keyword(call, "shuffle")
    if site.epoch.loop is None or generator is None or shuffle is None:
        return
    if isinstance(shuffle, cst.Name) and shuffle.value == "False":
        return
    raise Declined(
        index.line(generator),
        f"`{code(site.train.loader)}` shuffles with a generator of its own: the loop runs its "
        "sampler to the end, which draws from that generator once more, and Lightning stops "
        "after the epoch's last batch, so the later epochs would be shuffled differently",
    )


def _own_generator(site: TrainingSite, index: SourceIndex, stage: Stage) -> bool:
    """The stage's DataLoader draws from a `generator=` of its own, not the global one (the one
    generated for a loop over items has one)."""
    own = _keyword(_loader_call(site, index, stage), "generator")
    return stage.items is not None or own is not None


def _loader_call(site: TrainingSite, index: SourceIndex, stage: Stage) -> cst.Call | None:
    """`DataLoader(...)` where the site binds the stage's loader once (None for a generated one
    or one bound otherwise)."""
    name = stage.loader.value if stage.items is None else None
    return assigned_call(single_binding(index, site.site_scope, name), name) if name else None


def _keyword(call: cst.Call | None, keyword: str) -> cst.BaseExpression | None:
    args = call.args if call is not None else ()
    return next((a.value for a in args if a.keyword and a.keyword.value == keyword), None)


def check_removed_names_unread(site: TrainingSite, index: SourceIndex) -> None:
    """A name whose binding the conversion removes from the site (an optimizer that moves into
    configure_optimizers, a DDP sampler) must not be read by code that stays: a function of the
    script, or code after training."""
    moving = [item.node for item in site.all_moved()] + list(site.removed)
    moving += [*site.test_region, *site.deleted_functions, *site.inlined.values(), site.outer_loop]
    moving += site.rewritten
    removed = {  # names no statement that stays binds any more
        name: statement
        for statement in site.removed
        for name in names_written(index, [statement])
        if all(b in moving for b in bindings(index, site.site_scope, name))
    }
    following = _after_training(site, index)
    rewritten = (Role.OPTIMIZER, Role.SCHEDULER)  # after fit: `trainer.optimizers[0]`
    for name, statement in removed.items():
        for scope in index.scopes():
            if scope.lookup(name) is not site.site_scope:
                continue
            for access in scope.accesses_by_name().get(name, []):
                if site.role_of(name) in rewritten and any(
                    access.node is n or _contains(index, n, access.node) for n in following
                ):
                    continue
                if not any(access.node is n or _contains(index, n, access.node) for n in moving):
                    if _in_another_training_loop(index, site, access.node):
                        raise Declined(
                            index.line(access.node),
                            f"`{name}` (line {index.line(statement)}) is used by another "
                            "training loop here too: the Trainer creates it once per fit, in "
                            "configure_optimizers, so two loops cannot share it",
                        )
                    user = index.enclosing_function(access.node)
                    where = f"{user.name.value}()" if user is not None else "code that stays"
                    raise Declined(
                        index.line(access.node),
                        f"`{name}` moves into the LightningModule (line "
                        f"{index.line(statement)}) but {where} still reads it here",
                    )


def _in_another_training_loop(index: SourceIndex, site: TrainingSite, node) -> bool:
    """`node` is inside a loop that calls backward(), other than the site's own."""
    return any(
        isinstance(loop, cst.For)
        and loop is not site.batch_loop
        and bool(find(loop.body, cst.Call, BACKWARD_CALL))
        for loop in index.ancestors(node)
    )


def keep_functions_still_used(site: TrainingSite, index: SourceIndex) -> None:
    """A training or evaluation function whose body moved into the hooks stays in the script
    when other code still calls it (`check_accuracy(loader, model)` after training too)."""
    module = index.body_scope(None)
    replaced = [*site.test_region, site.outer_loop]  # where its calls become hooks
    moved = [item.node for item in site.all_moved()]  # code that keeps its calls, in a hook

    def within(node, containers) -> bool:
        return any(node is n or _contains(index, n, node) for n in containers)

    for function in [*site.deleted_functions, *site.inlined.values()]:
        name = function.name.value
        for scope in index.scopes():
            if scope.lookup(name) is not module:
                continue
            uses = scope.accesses_by_name().get(name, [])
            if any(
                not within(u.node, [function])
                and (not within(u.node, replaced) or within(u.node, moved))
                for u in uses
            ):
                site.kept_functions.append(function)
                break


def _after_training(site: TrainingSite, index: SourceIndex) -> list[cst.CSTNode]:
    """The site's statements after its training loop (in its block and the blocks around)."""
    found, current = [], site.outer_loop
    while True:
        parent = index.parent(current)
        body = getattr(parent, "body", None)
        if isinstance(body, (list, tuple)) and current in body:
            found += list(body[list(body).index(current) + 1 :])
        if parent is None or isinstance(parent, (cst.FunctionDef, cst.Module)):
            return found
        current = parent


def _contains(index: SourceIndex, outer, node) -> bool:
    return any(a is outer for a in index.ancestors(node))


def _escapes(index: SourceIndex, moved: Moved, node: cst.CSTNode) -> bool:
    loop_control = isinstance(node, (cst.Break, cst.Continue))
    child = node
    for ancestor in index.ancestors(node):
        if isinstance(ancestor, _SCOPES):
            return False  # a closure's own return, a nested function's global
        if loop_control and isinstance(ancestor, (cst.For, cst.While)) and child is ancestor.body:
            return False  # the statement's own loop
        if ancestor is moved.node:
            return True
        child = ancestor
    return True
