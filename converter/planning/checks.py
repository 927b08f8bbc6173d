"""Checks of the planned site that no single pattern owns: control flow that would leave a loop
or function which no longer exists once the code moved into hooks, and optimizers that would be
created once where the script made them every epoch. (Each pattern checks its own shape in its
`check`.)"""

from __future__ import annotations

import libcst as cst

from converter.analysis.bindings import bindings, bound_names
from converter.analysis.fstring_quotes import enclosing_quote, requoted
from converter.analysis.index import SourceIndex
from converter.analysis.names import names_written
from converter.analysis.site import Declined, Hook, Moved, Role, StageName, TrainingSite
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
                    user = index.enclosing_function(access.node)
                    where = f"{user.name.value}()" if user is not None else "code that stays"
                    raise Declined(
                        index.line(access.node),
                        f"`{name}` moves into the LightningModule (line "
                        f"{index.line(statement)}) but {where} still reads it here",
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
