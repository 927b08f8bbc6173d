"""Find training sites: the batch loop that calls backward(), the optimizer it steps, the model
that optimizer trains, the epoch loop around it, and the evaluation loops beside it.

The result is a TrainingPlan per site, or Declined with the line and reason. Only reads.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from converter.analysis.bindings import (
    assigned_call,
    assigned_locally,
    assigned_value,
    bindings,
    block_of,
    calls,
    calls_of,
    device_moves_at_site,
    epoch_range,
    every_k_batches,
    is_device_move_of,
    is_main_guard,
    is_optimizer,
    is_range_loop,
    is_statement_of,
    optimizer_names,
    parameters_root,
    scope_names,
    single_binding,
    split_around,
    strip_device_moves,
)
from converter.analysis.distributed import DDP, plan_distributed, uses_distributed
from converter.analysis.index import SourceIndex
from converter.analysis.loops import (
    bind_arguments,
    called_function_statement,
    calls_model,
    is_mode_switch,
    result_assignment,
    site_name,
    stage_of_loop,
)
from converter.analysis.models import ModelClass, is_mode_sensitive
from converter.analysis.plan import Declined, ModelRef, Moved, Origin, Stage, TrainingPlan
from converter.analysis.regions import RegionFinder
from converter.rules import RULES, RuleContext, mixed_precision
from converter.rules.context import method_call


def find_backward_loops(index: SourceIndex) -> list[cst.For]:
    """The innermost for loops that call `.backward()`, in source order."""
    loops: list[cst.For] = []
    for node in index.nodes(cst.Call):
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "backward":
            loop = next((a for a in index.ancestors(node) if isinstance(a, cst.For)), None)
            if loop is None:
                raise Declined(index.line(node), "backward() is not inside a loop")
            if loop not in loops:
                loops.append(loop)
    return loops


class SitePlanner:
    """Builds the TrainingPlan of one batch loop."""

    def __init__(self, index: SourceIndex, models: dict[str, ModelClass], batch_loop: cst.For):
        self.index = index
        self.models = models
        self.batch_loop = batch_loop
        self.line = index.line(batch_loop)
        self.mode_switch_back = False  # a mid-epoch evaluation is followed by model.train()
        self.train_result: cst.SimpleStatementLine | None = None  # `loss = train(...)`

    def decline(self, node: cst.CSTNode | None, message: str) -> Declined:
        return Declined(self.index.line(node) if node is not None else self.line, message)

    # -- entry ---------------------------------------------------------------------------------

    def plan(self) -> TrainingPlan:
        function = self.index.enclosing_function(self.batch_loop)
        steps = self._step_calls()
        # A function that receives its optimizer (as a parameter or a global) is a training
        # function called from the real site, e.g. `train(args, model, loader, optimizer, epoch)`.
        inline = function is not None and any(
            isinstance(call.func.value, cst.Name)
            and not assigned_locally(self.index, function, call.func.value.value)
            for call in steps
        )
        if inline:
            train_part, loop_origin = self._inline_train_function(function)
        else:
            train_part = self.batch_loop
            loop_origin = Origin(self.index.scope(self.batch_loop))
        site_function = self.index.enclosing_function(train_part)
        site_origin = Origin(self.index.scope(train_part))

        optimizers = self._optimizers(steps, loop_origin, site_origin)
        manual = len(optimizers) > 1 or any(
            (call.args and not self._is_scaler_binding(call.func.value, loop_origin, site_origin))
            or not is_statement_of(self.index, call, self.batch_loop.body.body)
            for call in steps
        )
        plan = TrainingPlan(
            site_function=site_function,
            site_scope=site_origin.scope,
            models=self._models([stmt for _, stmt in optimizers], site_origin),
            optimizer_vars=[var for var, _ in optimizers],
            manual=manual,
        )
        for _, optimizer_stmt in optimizers:
            plan.setup.append(Moved(optimizer_stmt, site_origin))
            plan.removed.append(optimizer_stmt)
        self._scheduler(plan, site_origin)
        self._site_roles(plan, site_origin)
        if uses_distributed(self.index):
            plan_distributed(self.index, plan, site_origin.scope)
        if inline:
            plan.inlined[function.name.value] = function

        regions = RegionFinder(self.index, plan)
        epoch_loop = self._epoch_loop(train_part)
        if is_range_loop(self.batch_loop):
            return self._full_batch(plan, epoch_loop, inline, loop_origin, regions, site_origin)
        train = self._train_stage(plan, loop_origin)
        if inline:
            before, after = split_around(function.body.body, self.batch_loop)
            train.start += [Moved(s, loop_origin) for s in before]
            if after and m.matches(after[-1], m.SimpleStatementLine(body=[m.Return()])):
                after = after[:-1]  # its value, if used, is assigned below
            train.end += [Moved(s, loop_origin) for s in after]
            if self.train_result is not None:
                train.end.append(Moved(self.train_result, loop_origin))
        self._evaluation_every_k_steps(plan, train, regions, loop_origin)
        if epoch_loop is not None:
            self._epoch(plan, epoch_loop, train_part, train, regions, site_origin)
        else:
            plan.max_epochs = cst.Integer("1")
        plan.stages["train"] = train
        self._test_stage(plan, epoch_loop or train_part, regions, site_origin)
        self._check_control_flow(plan)
        self._apply_rules(plan)
        self._check_modes(plan)
        return plan

    # -- the batch loop and its function -------------------------------------------------------

    def _step_calls(self) -> list[cst.Call]:
        """Every `x.step(...)` in the batch loop, however nested."""
        calls = m.findall(self.batch_loop.body, m.Call(func=m.Attribute(attr=m.Name("step"))))
        if not calls:
            raise self.decline(None, "the loop calls backward() but steps no optimizer in its body")
        return calls

    def _inline_train_function(self, function: cst.FunctionDef) -> tuple[cst.BaseStatement, Origin]:
        """`def train(args, model, loader, optimizer, epoch)` called once per epoch: its body moves
        into the hooks, its parameters bound to the call's arguments."""
        if function not in self.index.module.body:
            raise self.decline(function, f"{function.name.value}() is not a module-level function")
        if self.batch_loop not in function.body.body:
            raise self.decline(self.batch_loop, "the batch loop is nested inside other statements")
        calls = calls_of(self.index, function)
        if len(calls) != 1:
            raise self.decline(function, f"{function.name.value}() must be called exactly once")
        call_stmt, call = calls[0]
        shape = called_function_statement(call_stmt)
        if shape is None or shape[0] is not call:
            raise self.decline(call_stmt, f"{function.name.value}() is called inside an expression")
        if shape[1] is not None:
            self.train_result = result_assignment(function, shape[1])
            if self.train_result is None:
                raise self.decline(call_stmt, f"{function.name.value}() returns nothing at its end")
        params = bind_arguments(self.index, function, call)
        return call_stmt, Origin(self.index.body_scope(function), tuple(params.items()))

    def _epoch_loop(self, train_part: cst.BaseStatement) -> cst.For | None:
        parent = self.index.parent(train_part)
        holder = self.index.parent(parent) if parent is not None else None
        if isinstance(holder, cst.For) and train_part in holder.body.body:
            return holder
        if isinstance(holder, (cst.FunctionDef, cst.Module)) or isinstance(parent, cst.Module):
            return None
        if isinstance(holder, cst.If) and is_main_guard(holder):
            return None
        raise self.decline(train_part, "the training loop is nested in statements it cannot lift")

    # -- optimizer, model, scheduler -----------------------------------------------------------

    def _optimizers(
        self, steps: list[cst.Call], loop_origin: Origin, site_origin: Origin
    ) -> list[tuple[str, cst.BaseStatement]]:
        """The optimizers the loop steps, in the order the site creates them."""
        found: dict[str, cst.BaseStatement] = {}
        for call in steps:
            receiver = call.func.value
            if self._is_scaler_binding(receiver, loop_origin, site_origin) and call.args:
                receiver = call.args[0].value  # scaler.step(optimizer)
            name = site_name(receiver, loop_origin)
            statement = single_binding(self.index, site_origin.scope, name) if name else None
            created = assigned_call(statement)
            if created is not None and is_optimizer(self.index, created):
                found[name] = statement
        if not found:
            raise self.decline(None, "the batch loop steps no optimizer created by torch.optim")
        return sorted(found.items(), key=lambda item: self.index.line(item[1]))

    def _is_scaler_binding(self, expr, loop_origin: Origin, site_origin: Origin) -> bool:
        name = site_name(expr, loop_origin)
        for scope in (site_origin.scope, self.index.body_scope(None)):
            call = assigned_call(single_binding(self.index, scope, name)) if name else None
            if call is not None and self.index.resolves_to(call.func, *mixed_precision.SCALERS):
                return True
        return False

    def _models(self, optimizer_stmts, site_origin: Origin) -> list[ModelRef]:
        """What the optimizers train: the roots of their `x.parameters()` arguments."""
        roots: list[str] = []
        for statement in optimizer_stmts:
            for call in calls(statement):
                root = parameters_root(call)
                if root is not None and root not in roots:
                    roots.append(root)
        if not roots:
            raise self.decline(optimizer_stmts[0], "cannot tell which model the optimizer trains")
        models = [self._model(var, optimizer_stmts[0], site_origin) for var in roots]
        if len(models) == 1:
            if models[0].cls is None:
                models[0].attribute = "self.model"
            return models
        for model in models:  # several models: one generated module holds them all
            model.cls, model.attribute = None, f"self.{model.var}"
        return models

    def _model(self, var: str, optimizer_stmt, site_origin: Origin) -> ModelRef:
        created = [
            s
            for s in bindings(self.index, site_origin.scope, var)
            if not is_device_move_of(s, var) and not self._is_ddp_wrap(s)
        ]
        if len(created) != 1 or assigned_call(created[0]) is None:
            raise self.decline(optimizer_stmt, f"`{var}` is not created once by a call")
        call = strip_device_moves(assigned_call(created[0]))
        cls = None
        if isinstance(call.func, cst.Name) and call.func.value in self.models:
            cls = self.models[call.func.value]
            for method in ("training_step", "configure_optimizers", "validation_step", "test_step"):
                if any(c.method(method) for c in cls.lineage()):
                    raise self.decline(cls.node, f"{cls.name} already defines {method}")
        return ModelRef(var=var, binding=created[0], call=call, cls=cls)

    def _is_ddp_wrap(self, statement) -> bool:
        call = assigned_call(statement)
        return call is not None and self.index.resolves_to(call.func, *DDP)

    def _scheduler(self, plan: TrainingPlan, site_origin: Origin) -> None:
        for name in scope_names(site_origin.scope):
            statement = single_binding(self.index, site_origin.scope, name)
            call = assigned_call(statement)
            if call is None or not self.index.resolves_to(call.func, "torch.optim.lr_scheduler"):
                continue
            first = call.args[0].value if call.args else None
            if isinstance(first, cst.Name) and first.value in plan.optimizer_vars:
                if plan.scheduler_vars and not plan.manual:
                    raise self.decline(statement, "more than one LR scheduler")
                if self.index.resolves_to(call.func, "torch.optim.lr_scheduler.ReduceLROnPlateau"):
                    plan.plateau = True
                plan.scheduler_vars.append(name)
                plan.setup.append(Moved(statement, site_origin))
                plan.removed.append(statement)

    def _site_roles(self, plan: TrainingPlan, site_origin: Origin) -> None:
        scopes = {site_origin.scope, self.index.body_scope(None)}
        for scope in scopes:
            for name in scope_names(scope):
                values = [assigned_value(s) for s in bindings(self.index, scope, name)]
                if values and all(v is not None and self._is_device(v) for v in values):
                    plan.device_vars.add(name)
        for scope in (self.index.body_scope(None), site_origin.scope):
            for name in scope_names(scope):
                statement = single_binding(self.index, scope, name)
                call = assigned_call(statement)
                if call is not None and m.matches(
                    call.func, m.Attribute(value=m.Name(), attr=m.Name("parse_args"))
                ):
                    plan.namespace_var, plan.namespace_binding = name, statement
        for model in plan.models:
            plan.removed += device_moves_at_site(self.index, site_origin.scope, model.var)
        for name in scope_names(site_origin.scope):
            statement = single_binding(self.index, site_origin.scope, name)
            call = assigned_call(statement)
            if call is not None and self.index.resolves_to(call.func, *mixed_precision.SCALERS):
                plan.scaler_vars.add(name)
                plan.removed.append(statement)

    def _is_device(self, value: cst.BaseExpression) -> bool:
        """`torch.device(...)`, `torch.accelerator.current_accelerator()`, `"cuda"`, or a
        conditional choosing between such values."""
        if isinstance(value, cst.IfExp):
            return self._is_device(value.body) and self._is_device(value.orelse)
        if isinstance(value, cst.SimpleString):
            return value.evaluated_value.split(":")[0] in ("cuda", "cpu", "mps", "xpu")
        return isinstance(value, cst.Call) and self.index.resolves_to(
            value.func, "torch.device", "torch.accelerator.current_accelerator"
        )

    # -- stages --------------------------------------------------------------------------------

    def _full_batch(self, plan, epoch_loop, inline, loop_origin, regions, site_origin):
        """`for t in range(N): pred = model(x) ...`: each round is an epoch of one batch."""
        loop = self.batch_loop
        if epoch_loop is not None or inline:
            raise self.decline(loop, "a step loop over range() inside another loop or function")
        if not isinstance(loop.target, cst.Name):
            raise self.decline(loop, "the step loop's variable is not a plain name")
        plan.epoch_var = loop.target.value
        plan.epoch_start, plan.max_epochs = epoch_range(loop, self)
        loader = self.index.fresh_name("step_loader")
        train = Stage(
            "train", loop, loop_origin, cst.Name(loader), cst.Name("batch"), full_batch=True
        )
        train.step = [Moved(s, loop_origin) for s in loop.body.body]
        plan.stages["train"] = train
        self._test_stage(plan, loop, regions, site_origin)
        self._check_control_flow(plan)
        self._apply_rules(plan)
        self._check_modes(plan)
        return plan

    def _train_stage(self, plan: TrainingPlan, loop_origin: Origin) -> Stage:
        loop = self.batch_loop
        stage = stage_of_loop(self.index, "train", loop, loop_origin)
        stage.step = [
            Moved(s, loop_origin) for s in self._without_autocast(plan, loop.body.body, loop_origin)
        ]
        return stage

    def _without_autocast(self, plan: TrainingPlan, statements, origin: Origin):
        """The body of `with torch.autocast(...):` in place of it; the Trainer's precision
        option does the autocasting."""
        flat = []
        for statement in statements:
            call = mixed_precision.autocast_call(self.index, statement)
            if call is None:
                flat.append(statement)
                continue
            option = mixed_precision.precision_option(self.index, call)
            if "precision" in plan.trainer_kwargs:
                raise self.decline(statement, "more than one autocast region")
            plan.trainer_kwargs["precision"] = (option, origin)
            flat += list(statement.body.body)
        return flat

    def _evaluation_every_k_steps(self, plan, train: Stage, regions, origin: Origin) -> None:
        """`if (i + 1) % k == 0: evaluate(...)` after the step: validation with
        Trainer(val_check_interval=k), which validates after the same batches."""
        for item in list(train.step):
            statement = item.node
            k = every_k_batches(statement, train.index_name) if train.index_start is None else None
            if k is None or statement.orelse is not None:
                continue
            region = regions.find(list(statement.body.body), origin)
            if region is None:
                continue
            rest = statement.body.body[: region.first] + statement.body.body[region.last + 1 :]
            if any(not is_mode_switch(s, plan.model_vars, "train") for s in rest):
                raise self.decline(
                    statement, "other code runs with the evaluation inside the batch loop"
                )
            if train.step[-1] is not item:
                raise self.decline(
                    statement, "the evaluation inside the batch loop is not its last step"
                )
            plan.stages["validation"] = region.stage(self.index, "validation")
            if region.function is not None:
                plan.deleted_functions.append(region.function)
            plan.trainer_kwargs["val_check_interval"] = (k, origin)
            train.step.remove(item)
            self.mode_switch_back = any(is_mode_switch(s, plan.model_vars, "train") for s in rest)
            return

    def _epoch(
        self,
        plan: TrainingPlan,
        epoch_loop: cst.For,
        train_part: cst.BaseStatement,
        train: Stage,
        regions: RegionFinder,
        site_origin: Origin,
    ) -> None:
        plan.epoch_loop = epoch_loop
        if epoch_loop.orelse is not None:
            raise self.decline(epoch_loop, "the epoch loop has an else: block")
        if not isinstance(epoch_loop.target, cst.Name):
            raise self.decline(epoch_loop, "the epoch loop's variable is not a plain name")
        plan.epoch_var = epoch_loop.target.value
        plan.epoch_start, plan.max_epochs = epoch_range(epoch_loop, self)
        before, after = split_around(epoch_loop.body.body, train_part)
        train.start = [Moved(s, site_origin) for s in before] + train.start
        region = regions.find(after, site_origin)
        if region is not None and "validation" in plan.stages:
            raise self.decline(region.loop, "evaluations both inside and after the batch loop")
        if region is None:
            train.end += [Moved(s, site_origin) for s in after]
            return
        validation = plan.stages["validation"] = region.stage(self.index, "validation")
        if region.function is not None:
            plan.deleted_functions.append(region.function)
        # Lightning validates right after the epoch's last batch, before on_train_epoch_end: the
        # epoch's wrap-up that the original ran before evaluating opens on_validation_epoch_start,
        # so everything happens (and prints) in the original order. Scheduler steps stay in
        # on_train_epoch_end, where Lightning steps them anyway.
        wrap_up = train.end + [Moved(s, site_origin) for s in after[: region.first]]
        steps = [item for item in wrap_up if self._steps_scheduler(plan, item)]
        plan.before_validation = [item for item in wrap_up if item not in steps]
        validation.start = plan.before_validation + validation.start
        train.end = steps + [Moved(s, site_origin) for s in after[region.last + 1 :]]

    def _steps_scheduler(self, plan: TrainingPlan, item: Moved) -> bool:
        found = method_call(item.node)
        return (
            found is not None
            and found[1] == "step"
            and (site_name(found[0], item.origin) in plan.scheduler_vars)
        )

    def _test_stage(
        self,
        plan: TrainingPlan,
        loop_statement: cst.BaseStatement,
        regions: RegionFinder,
        site_origin: Origin,
    ) -> None:
        block = block_of(self.index, loop_statement)
        following = block[block.index(loop_statement) + 1 :]
        region = regions.find(following, site_origin)
        if region is None:
            return
        plan.stages["test"] = region.stage(self.index, "test")
        if region.function is not None:
            plan.deleted_functions.append(region.function)
        plan.test_region = following[region.first : region.last + 1]

    # -- rules and checks ----------------------------------------------------------------------

    def _apply_rules(self, plan: TrainingPlan) -> None:
        self.mode_calls: dict[str, set[str]] = {}
        # Under manual optimization the loop's own zero_grad/backward/step calls stay: only the
        # mode switches go, Lightning does those.
        rules = (RULES[0],) if plan.manual else RULES
        for stage in plan.stages.values():
            for hook, moved in stage.hooks().items():
                place = (
                    "batch"
                    if hook == "training_step"
                    else "epoch"
                    if stage.name == "train"
                    else "eval"
                )
                kept, claims = [], {}
                for item in moved:
                    ctx = RuleContext(self.index, plan, item.origin, place, claims)
                    if not any(rule.claim(item.node, ctx) for rule in rules):
                        kept.append(item)
                moved[:] = kept
                for what in claims:
                    self.mode_calls.setdefault(stage.name, set()).add(what)
                if hook == "training_step" and not plan.manual:
                    self._check_step(plan, claims)
        if plan.manual:
            return
        if plan.scheduler_var is not None and plan.scheduler_interval is None:
            raise self.decline(None, "the LR scheduler is not stepped in the training loop")
        self._check_nothing_left(plan)
        if plan.scaler_vars and "precision" not in plan.trainer_kwargs:
            raise self.decline(None, "a GradScaler without autocast")

    def _check_nothing_left(self, plan: TrainingPlan) -> None:
        """Optimization calls that no rule claimed (nested in an `if`, a second optimizer...)
        would run inside a hook: Lightning would then train differently."""
        optimizers = optimizer_names(self.index, plan.site_scope) | {plan.optimizer_var}
        calls = m.Call(
            func=m.Attribute(attr=m.Name("backward") | m.Name("zero_grad") | m.Name("step"))
        )
        for moved in plan.all_moved()[len(plan.setup) :]:
            for call in m.findall(moved.node, calls):
                method = call.func.attr.value
                receiver = site_name(call.func.value, moved.origin)
                if method != "step" or receiver in optimizers:
                    raise self.decline(
                        call,
                        f"{method}() inside other statements of the loop (manual optimization)",
                    )

    def _check_step(self, plan: TrainingPlan, claims: dict[str, list[cst.BaseStatement]]) -> None:
        body = list(self.batch_loop.body.body)
        if "zero_grad" not in claims:
            raise self.decline(None, "gradients are never zeroed in the batch loop (accumulation)")
        if len(claims.get("step", [])) != 1 or len(claims.get("zero_grad", [])) != 1:
            raise self.decline(None, "the batch loop steps or zeroes the optimizer more than once")
        backward, step, zero = (body.index(claims[k][0]) for k in ("backward", "step", "zero_grad"))
        if not backward < step or backward < zero < step:
            raise self.decline(None, "backward(), zero_grad() and step() are in an unusual order")
        for clip in claims.get("clip", []):
            if not backward < body.index(clip) < step:
                raise self.decline(clip, "gradient clipping outside backward() and step()")
        # Lightning runs the whole training_step before backward(); code between backward and
        # step may move up as long as it does not look at gradients.
        gradients = m.Attribute(
            attr=m.Name("grad") | m.Name("parameters") | m.Name("named_parameters")
        )
        for statement in body[backward + 1 : step]:
            if any(statement in c for c in claims.values()):
                continue
            if m.findall(statement, gradients):
                raise self.decline(statement, "code between backward() and step() reads gradients")

    def _check_control_flow(self, plan: TrainingPlan) -> None:
        """break/continue/return that would leave a loop or function which no longer exists."""
        escaping = m.Break() | m.Continue() | m.Return() | m.Yield() | m.Global() | m.Nonlocal()
        for moved in plan.all_moved():
            for node in m.findall(moved.node, escaping):
                for ancestor in self.index.ancestors(node):
                    if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                        break  # a closure's own return
                    if ancestor is moved.node:
                        if self._is_early_stop(plan, moved, node):
                            plan.early_stops.add(node)
                            break
                        word = type(node).__name__.lower()
                        where = "batch loop" if moved in plan.stages["train"].step else "loop"
                        raise self.decline(node, f"`{word}` inside the training {where}'s code")
                    if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)) or (
                        isinstance(ancestor, (cst.For, cst.While))
                        and isinstance(node, (cst.Break, cst.Continue))
                    ):
                        break

    def _is_early_stop(self, plan: TrainingPlan, moved: Moved, node: cst.CSTNode) -> bool:
        """`break` out of the epoch loop as the very last thing an epoch does (a patience check
        after evaluation): Lightning stops the same way with `self.trainer.should_stop`."""
        epoch = plan.epoch_loop
        if not isinstance(node, cst.Break) or epoch is None or moved.origin.params:
            return False
        if moved not in plan.stages["train"].end or epoch.body.body[-1] is not moved.node:
            return False
        current: cst.CSTNode = node
        while current is not moved.node:
            parent = self.index.parent(current)
            siblings = getattr(parent, "body", None)
            if isinstance(siblings, (list, tuple)) and siblings[-1] is not current:
                return False
            current = parent
        return True

    def _check_modes(self, plan: TrainingPlan) -> None:
        if not any(is_mode_sensitive(m.cls, self.index, m.call) for m in plan.models):
            return
        calls = self.mode_calls
        for stage in ("validation", "test"):
            if stage in plan.stages and "eval" not in calls.get(stage, set()):
                raise self.decline(
                    plan.stages[stage].loop,
                    "this evaluation runs the model in training mode (no model.eval()); "
                    "Lightning evaluates in eval mode, which changes dropout/batch norm",
                )
        if "validation" in plan.stages and any(
            calls_model(item.node, plan.model_vars, item.origin)
            for item in plan.stages["train"].end + plan.before_validation
        ):
            raise self.decline(
                None,
                "the epoch's own code runs the model after evaluation, in eval mode; in Lightning "
                "it would run in train mode",
            )
        restored = (
            self.mode_switch_back
            or "train" in calls.get("train", set())
            or "train" in calls.get("validation", set())
        )
        if "validation" in plan.stages and not restored:
            raise self.decline(
                None,
                "after the first evaluation the original trains in eval mode "
                "(no model.train() in the epoch); Lightning would train in train mode",
            )


__all__ = ["SitePlanner", "find_backward_loops"]
