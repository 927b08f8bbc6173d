"""Which names the hooks share, which come from the site, and whether moving code breaks a reader.

- A name written in one hook and read (before any write) in another, or carried from one batch to
  the next, lives on the module as an attribute (`self.running_loss`).
- A local of the site function that the hooks read (other than the model, optimizer, loaders...)
  reaches them as a hyper-parameter: `model.save_hyperparameters(...)`, read as `self.hparams.x`.
- Code left at the site after training must not read what moved away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import libcst as cst

from converter.analysis import match as m
from converter.analysis.index import SourceIndex
from converter.analysis.names import READ, WRITE, name_events, read_before_written
from converter.analysis.site import Declined, Hook, Role, StageName, TrainingSite
from converter.analysis.values import is_plain_name
from converter.analysis.walk import find

# Attributes Lightning or torch already give a LightningModule: a shared name must not clash.
RESERVED = frozenset(
    """T_destination automatic_optimization current_epoch device dtype example_input_array
    fabric forward global_rank global_step hparams hparams_initial local_rank logger loggers
    on_gpu precision strict_loading trainer training truncated_bptt_steps log log_dict
    optimizers lr_schedulers parameters state_dict buffers modules children train eval""".split()
)


HookKey = tuple[Optional[StageName], Hook]  # (None, configure_optimizers)


@dataclass
class Dataflow:
    attributes: set[str] = field(default_factory=set)
    hparams: list[str] = field(default_factory=list)  # site locals of plain data the hooks read
    objects: list[str] = field(default_factory=list)  # other site locals the hooks read
    fit_start: list[tuple[str, cst.BaseExpression]] = field(default_factory=list)  # site inits
    written: dict[HookKey, set[str]] = field(default_factory=dict)  # names each hook sets
    # shared names the site sets before training (`prev_time = time.time()`), handed to the
    # module there: `lit.prev_time = prev_time`
    handed: list[str] = field(default_factory=list)
    # a shared name that is also a LightningModule's attribute lives under another one
    renamed: dict[str, str] = field(default_factory=dict)
    # names the loop sets and the site reads after training (`print(best_acc)`): the module
    # keeps them as attributes, handed back after fit (`best_acc = lit_model.best_acc`), and
    # after test those the test hooks set
    read_after: list[str] = field(default_factory=list)
    read_after_test: list[str] = field(default_factory=list)

    def attr(self, name: str) -> str:
        """The module attribute a shared name lives in."""
        return self.renamed.get(name, name)


def analyse(index: SourceIndex, plan: TrainingSite) -> Dataflow:
    flow = Dataflow()
    roles = set(plan.bindings)
    written = flow.written
    read_first: dict[HookKey, set[str]] = {}
    for key, moved in plan.hooks().items():
        nodes = [item.node for item in moved]
        events = name_events(index, nodes)
        written[key] = {e.node.value for e in events if e.kind == WRITE}
        read_first[key] = read_before_written(index, nodes)
        if key[1].is_step:  # the loop's own target: the batch, which later hooks may read
            written[key] |= _batch_names(plan.stages[key[0]])
        if key[1].sees_batch:
            read_first[key] -= _batch_names(plan.stages[key[0]])
        for item in moved:
            for name in dict(item.origin.params):
                if name in {
                    e.node.value for e in name_events(index, [item.node]) if e.kind == WRITE
                }:
                    raise Declined(index.line(item.node), f"the loop assigns to parameter {name!r}")

    all_written = set().union(*written.values())
    read_after = _readers_after(index, plan, all_written - roles)  # name: its first read
    fitted, tested = set(), set()
    for (stage, _), names in written.items():
        (tested if stage is StageName.TEST else fitted).update(names)
    flow.read_after = [n for n in read_after if n in fitted]
    flow.read_after_test = [n for n in read_after if n in tested]
    _check_tested_read_after_test(index, plan, read_after, tested - fitted)
    shared = {n for reads in read_first.values() for n in reads if n in all_written} - roles
    shared |= set(read_after)
    flow.attributes = shared
    taken = set(RESERVED) | shared
    for name in sorted(shared):
        if name in RESERVED or _is_class_member(plan, name):
            flow.renamed[name] = _free_attribute(plan, f"{name}_", taken)
            taken.add(flow.renamed[name])
        _check_initialised(index, plan, name, written, read_first, flow)

    _check_order(plan, written, read_first)
    handed = _hyperparameters(index, plan, read_first, roles | shared)
    namespaces = set(plan.names(Role.NAMESPACE))
    for name in handed:
        plain = is_plain_name(index, plan.site_scope, name, namespaces)
        (flow.hparams if plain else flow.objects).append(name)
    return flow


def _batch_names(stage) -> set[str]:
    names = {n.value for n in _names_in(stage.batch_target)}
    if stage.index_name:
        names.add(stage.index_name)
    return names


def _names_in(node: cst.CSTNode) -> list[cst.Name]:
    """The names `node` reads or binds, not the attribute names after a dot."""
    attributes = {id(a.attr) for a in find(node, cst.Attribute)}
    return [n for n in find(node, cst.Name) if id(n) not in attributes]


def _is_class_member(plan: TrainingSite, name: str) -> bool:
    if plan.model.cls is None:
        return name == "model" or name in plan.model_vars
    for cls in plan.model.cls.lineage():
        for statement in cls.node.body.body:
            if (
                isinstance(statement, (cst.FunctionDef, cst.ClassDef))
                and statement.name.value == name
            ):
                return True
        for target in _self_attributes(cls.node):
            if target == name:
                return True
    return False


def _self_attributes(node: cst.ClassDef) -> set[str]:
    return {
        a.attr.value
        for a in find(node, cst.Attribute)
        if isinstance(a.value, cst.Name) and a.value.value == "self"
    }


def _check_initialised(index, plan, name, written, read_first, flow) -> None:
    """A shared name must be set by a start hook, or by a plain statement before training."""
    if any(name in names for (stage, hook), names in written.items() if hook.is_epoch_start):
        return
    # Written in one hook and read by a later one in the same round (training_step ->
    # on_train_batch_end, train -> report). Read first in a step, it comes from the last batch.
    readers = [hook for (_, hook), names in read_first.items() if name in names]
    writers = [hook for (_, hook), names in written.items() if name in names]
    if all(not r.is_step and any(w.runs_before(r) for w in writers) for r in readers):
        return
    site_init = _site_initialiser(index, plan, name)
    if site_init is not None:
        flow.fit_start.append(site_init)
    elif _set_before(index, plan, name):
        flow.handed.append(name)
    else:
        raise Declined(
            index.line(plan.epoch.loop) if plan.epoch and plan.epoch.loop else 0,
            f"`{name}` is carried across the training loop from code outside it",
        )


def _free_attribute(plan: TrainingSite, wanted: str, taken: set[str]) -> str:
    name = wanted
    while name in taken or _is_class_member(plan, name):
        name += "_"
    return name


def _set_before(index, plan: TrainingSite, name: str) -> bool:
    """The site binds `name` before its training loop (in its own block, not only in a branch
    or a loop, so that it holds a value when training starts)."""
    loop = plan.outer_loop
    block = index.parent(loop)
    for assignment in plan.site_scope.assignments[name]:
        statement = index.enclosing_statement(assignment.node)
        if (
            assignment.scope is plan.site_scope
            and statement is not None
            and index.parent(statement) is block
            and index.line(statement) < index.line(loop)
        ):
            return True
    return False


def _site_initialiser(index, plan, name) -> tuple[str, cst.BaseExpression] | None:
    """`best = float("inf")` (or `patience, bad = 2, 0`) before the epoch loop: the value is
    set again in on_fit_start, as `self.best`."""
    assignments = [a for a in plan.site_scope.assignments[name] if a.scope is plan.site_scope]
    loop = plan.outer_loop
    for assignment in assignments:
        statement = index.enclosing_statement(assignment.node)
        if not (
            m.matches(statement, m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget()])]))
            and index.line(statement) < index.line(loop)
        ):
            continue
        target, value = statement.body[0].targets[0].target, statement.body[0].value
        if isinstance(target, cst.Tuple) and isinstance(value, cst.Tuple):
            pairs = zip(target.elements, value.elements)
            found = [v.value for t, v in pairs if m.matches(t.value, m.Name(name))]
            value = (
                found[0]
                if len(found) == 1 and len(target.elements) == len(value.elements)
                else None
            )
        elif not m.matches(target, m.Name(name)):
            value = None
        if value is not None and _is_constant(value):
            return name, value
    return None


def _is_constant(value: cst.BaseExpression) -> bool:
    """Literals, `-1`, `None`, `float("inf")`, `math.inf` / `np.inf`."""
    if isinstance(value, (cst.Integer, cst.Float, cst.SimpleString)):
        return True
    if isinstance(value, cst.UnaryOperation):
        return _is_constant(value.expression)
    if m.matches(value, m.Name("None") | m.Name("True") | m.Name("False")):
        return True
    if m.matches(value, m.Attribute(attr=m.Name("inf") | m.Name("nan"))):
        return True
    return m.matches(value, m.Call(func=m.Name("float"), args=[m.Arg(m.SimpleString())]))


def _check_order(plan, written, read_first) -> None:
    """Lightning validates before on_train_epoch_end; the original did the epoch's own wrap-up
    first. That is only the same when validation reads nothing the wrap-up writes."""
    end = written.get((StageName.TRAIN, Hook.ON_TRAIN_EPOCH_END), set())
    for (stage, _), names in read_first.items():
        if stage is StageName.VALIDATION and names & end:
            name = sorted(names & end)[0]
            raise Declined(0, f"validation reads `{name}`, computed after the training batches")


def _hyperparameters(index, plan, read_first, skip) -> list[str]:
    """Site locals that a hook reads before setting them: they must be handed to the module."""
    if plan.site_function is None:
        return []  # module level: the hooks read the script's globals directly
    needed: set[str] = set()
    for key, moved in plan.hooks().items():
        written = set(_batch_names(plan.stages[key[0]])) if key[1].sees_batch else set()
        for item in moved:
            for event in name_events(index, [item.node]):
                name = event.node.value
                argument = item.origin.argument(name)
                if argument is not None:
                    needed |= {n.value for n in _names_in(argument)}
                elif item.origin.is_local(name):
                    continue  # a local of the inlined function
                elif event.kind == WRITE:
                    written.add(name)
                elif name not in written:
                    needed.add(name)
    for stage in plan.stages.values():
        if stage.index_start is not None:
            needed |= {n.value for n in _names_in(stage.index_start)}
    local = {a.name for a in plan.site_scope.assignments if a.scope is plan.site_scope}
    names = sorted(n for n in needed & local if n not in skip)
    for name in names:
        for assignment in plan.site_scope.assignments[name]:
            statement = index.enclosing_statement(assignment.node)
            if not m.matches(statement, m.SimpleStatementLine(body=[m.Assign(value=m.Call())])):
                continue
            call = statement.body[0].value
            if index.resolves_to(call.func, "torch.utils.data"):
                raise Declined(
                    index.line(assignment.node),
                    f"the training code uses the loader `{name}` itself "
                    "(an evaluation inside the batch loop?); Lightning owns the loaders",
                )
    return names


def _readers_after(index, plan, moved_names: set[str]) -> dict[str, cst.Name]:
    """Names whose writers moved into a hook and that code left at the site reads after
    training, before setting them itself. (The epoch variable has no module attribute: a read
    of it is declined.)"""
    if plan.site_function is not None:
        site_names = {a.name for a in plan.site_scope.assignments if a.scope is plan.site_scope}
        moved_names = moved_names & site_names
    following = statements_after(index, plan.outer_loop, set(plan.test_region))
    events = name_events(index, following)
    # the optimizers and schedulers are the trainer's after fit (`trainer.optimizers[0]`)
    optimization = set(plan.names(Role.OPTIMIZER)) | set(plan.names(Role.SCHEDULER))
    epoch_var = plan.epoch.var if plan.epoch else None
    for event in events:
        if event.node.value in optimization and event.kind == READ:
            plan.read_after.append(event.node)
    read_first = read_before_written(index, following)
    first_reads: dict[str, cst.Name] = {}  # in the order the code reads them
    for event in events:
        if event.kind == READ and event.node.value in read_first:
            first_reads.setdefault(event.node.value, event.node)
    if epoch_var in first_reads:
        raise Declined(
            index.line(first_reads[epoch_var]),
            f"`{epoch_var}` is read after training but set inside the loop",
        )
    return {name: node for name, node in first_reads.items() if name in moved_names}


def _check_tested_read_after_test(index, plan, read_after, only_tested: set[str]) -> None:
    """What only the test hooks set exists once trainer.test ran, where the test loop was."""
    for name in only_tested & set(read_after):
        if index.line(read_after[name]) < index.line(plan.test_region[0]):
            raise Declined(
                index.line(read_after[name]), f"`{name}` is read before the test loop that sets it"
            )


def statements_after(index, statement, skip=frozenset()) -> list[cst.CSTNode]:
    """Statements after `statement` in its block and in the enclosing blocks of its scope."""
    return _around(index, statement, skip, after=True)


def statements_before(index, statement) -> list[cst.CSTNode]:
    """Statements before `statement` in its block and in the enclosing blocks of its scope, in
    source order."""
    return sorted(_around(index, statement, set(), after=False), key=index.order)


def _around(index, statement, skip, after: bool) -> list[cst.CSTNode]:
    result: list[cst.CSTNode] = []
    current = statement
    while True:
        parent = index.parent(current)
        if parent is None:
            break
        body = getattr(parent, "body", None)
        if isinstance(body, (list, tuple)) and current in body:
            position = list(body).index(current)
            part = body[position + 1 :] if after else body[:position]
            result += [s for s in part if s not in skip and not _is_def(s)]
        if isinstance(parent, (cst.FunctionDef, cst.Module)):
            break
        current = parent
    return result


def _is_def(statement) -> bool:
    return isinstance(statement, (cst.FunctionDef, cst.ClassDef))
