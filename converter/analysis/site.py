"""The one value that describes a training site, filled in by the planner's passes.

`TrainingSite` holds only what every conversion has: the batch loop and the function it lives
in, the models and optimizers, the epoch loop, the stages headed for Lightning's hooks, what the
site loses, and who is who (`bindings`). A pattern keeps its own findings in its own state object
(`site.state(pattern)`), so adding a pattern never adds a field here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import libcst as cst

from converter.analysis.models import ModelClass
from converter.analysis.scopes import Scope


class Declined(Exception):
    """The analysis cannot convert this faithfully; `line` and the message go in the report."""

    def __init__(self, line: int, message: str, kind: str = "loop", inline=None) -> None:
        super().__init__(message)
        self.line = line
        self.kind = kind
        #: the function (a cst.FunctionDef) whose body, in place of its one call, might convert:
        #: the loop's function receives what it trains (see targets/trainer/inlining.py)
        self.inline = inline


class StageName(str, Enum):
    TRAIN = "train"
    VALIDATION = "validation"
    TEST = "test"


class Hook(str, Enum):
    """LightningModule hooks a conversion fills, in the order Lightning calls them in a fit
    (validation runs right after the epoch's last training batch, before on_train_epoch_end)."""

    ON_FIT_START = "on_fit_start"
    ON_TRAIN_EPOCH_START = "on_train_epoch_start"
    TRAINING_STEP = "training_step"
    ON_TRAIN_BATCH_END = "on_train_batch_end"  # after the optimizer step
    ON_VALIDATION_EPOCH_START = "on_validation_epoch_start"
    VALIDATION_STEP = "validation_step"
    ON_VALIDATION_EPOCH_END = "on_validation_epoch_end"
    ON_TRAIN_EPOCH_END = "on_train_epoch_end"
    LR_SCHEDULER_STEP = "lr_scheduler_step"  # after on_train_epoch_end, for the epoch's step
    ON_TEST_EPOCH_START = "on_test_epoch_start"
    TEST_STEP = "test_step"
    ON_TEST_EPOCH_END = "on_test_epoch_end"
    CONFIGURE_OPTIMIZERS = "configure_optimizers"

    @property
    def is_step(self) -> bool:
        return self in (Hook.TRAINING_STEP, Hook.VALIDATION_STEP, Hook.TEST_STEP)

    @property
    def sees_batch(self) -> bool:
        """Lightning hands it the batch and batch_idx."""
        return self.is_step or self is Hook.ON_TRAIN_BATCH_END

    @property
    def is_epoch_start(self) -> bool:
        return self.value.endswith("_epoch_start")

    def runs_before(self, other: Hook) -> bool:
        """Within one epoch (configure_optimizers runs once, before all of them)."""
        order = list(Hook)
        if Hook.CONFIGURE_OPTIMIZERS in (self, other) or Hook.ON_FIT_START in (self, other):
            return False
        return order.index(self) < order.index(other)


STAGE_HOOKS = {
    StageName.TRAIN: (
        Hook.ON_TRAIN_EPOCH_START,
        Hook.TRAINING_STEP,
        Hook.ON_TRAIN_BATCH_END,
        Hook.ON_TRAIN_EPOCH_END,
        Hook.LR_SCHEDULER_STEP,
    ),
    StageName.VALIDATION: (
        Hook.ON_VALIDATION_EPOCH_START,
        Hook.VALIDATION_STEP,
        Hook.ON_VALIDATION_EPOCH_END,
    ),
    StageName.TEST: (Hook.ON_TEST_EPOCH_START, Hook.TEST_STEP, Hook.ON_TEST_EPOCH_END),
}


class Place(Enum):
    """Where a moved statement runs, as the patterns see it."""

    BATCH = "the training batch loop"  # training_step
    EPOCH = "the epoch loop"  # on_train_epoch_start / on_train_epoch_end
    EVALUATION = "an evaluation"  # validation and test hooks

    @staticmethod
    def of(stage: StageName, hook: Hook) -> Place:
        if hook in (Hook.TRAINING_STEP, Hook.ON_TRAIN_BATCH_END):
            return Place.BATCH
        if hook is Hook.LR_SCHEDULER_STEP:
            return Place.EVALUATION  # after the epoch, as a pattern sees it
        return Place.EPOCH if stage is StageName.TRAIN else Place.EVALUATION


@dataclass(frozen=True)
class Origin:
    """Where a moved statement's names are bound.

    `params` maps the parameters of an inlined function (`train(args, model, ...)`) to the
    arguments of its one call in the training site; it is empty for the site's own code.
    """

    scope: Scope
    params: tuple[tuple[str, cst.BaseExpression], ...] = ()

    def argument(self, name: str) -> cst.BaseExpression | None:
        return dict(self.params).get(name)

    def is_local(self, name: str) -> bool:
        """A name the inlined function binds itself, seen from its body."""
        return bool(self.params) and any(
            a.scope is self.scope for a in self.scope.assignments[name]
        )

    def at_site(self, value: cst.BaseExpression) -> cst.BaseExpression:
        """`value`, written in an inlined function, in terms of the site's names (its
        parameters replaced by the call's arguments)."""
        if not self.params:
            return value
        params = dict(self.params)

        class Substitute(cst.CSTTransformer):
            def leave_Name(self, original, updated):
                return params.get(original.value, updated)

        return value.visit(Substitute())

    def site_name(self, expr: cst.BaseExpression | None) -> str | None:
        """The site variable `expr` denotes: through an inlined function's parameters, and None
        for a local of that function or anything but a plain name."""
        if not isinstance(expr, cst.Name):
            return None
        argument = self.argument(expr.value)
        if argument is not None:
            return argument.value if isinstance(argument, cst.Name) else None
        if self.is_local(expr.value):
            return None
        return expr.value


@dataclass(frozen=True)
class Moved:
    """One statement that moves into a LightningModule hook."""

    node: cst.BaseStatement
    origin: Origin


@dataclass
class Stage:
    """A loop over a DataLoader and the code around it, headed for one stage's hooks."""

    name: StageName
    loop: cst.For
    loop_origin: Origin
    loader: cst.BaseExpression  # the loader as the site names it
    batch_target: cst.BaseAssignTargetExpression
    index_name: str | None = None
    index_start: cst.BaseExpression | None = None
    # A loop over something else than a DataLoader (a list of pairs, a range of offsets): what
    # it iterates, which a generated one-item-per-step DataLoader (`loader`) then holds.
    items: cst.BaseExpression | None = None
    start: list[Moved] = field(default_factory=list)
    step: list[Moved] = field(default_factory=list)
    end: list[Moved] = field(default_factory=list)
    # Training only: what the loop did after the optimizer step and that looks at the model,
    # and what the epoch did after stepping its LR scheduler.
    batch_end: list[Moved] = field(default_factory=list)
    after_lr_step: list[Moved] = field(default_factory=list)

    def hooks(self) -> dict[Hook, list[Moved]]:
        if self.name is StageName.TRAIN:
            moved = (self.start, self.step, self.batch_end, self.end, self.after_lr_step)
        else:
            moved = (self.start, self.step, self.end)
        return dict(zip(STAGE_HOOKS[self.name], moved))


class Role(Enum):
    """What a site variable is; the hooks reach it through Lightning instead."""

    MODEL = "model"
    OPTIMIZER = "optimizer"
    SCHEDULER = "scheduler"
    DEVICE = "device"
    RANK = "process rank"
    NAMESPACE = "argparse namespace"
    LOADER = "loader"
    EPOCH = "epoch"
    OTHER = "other"  # a pattern's own binding (a GradScaler, a DistributedSampler)


@dataclass(frozen=True)
class Binding:
    name: str
    role: Role
    in_hooks: str | None = None  # what hooks read instead, when it is always the same


@dataclass(frozen=True)
class StepFunction:
    """`loss = train(x, y)` in the batch loop: a module-level function that makes the batch's
    backward() and step(), inlined where the loop calls it."""

    function: cst.FunctionDef
    statement: cst.BaseStatement  # the call's statement in the batch loop
    origin: Origin  # its body's names; its parameters bound to the call's arguments
    result: cst.SimpleStatementLine | None  # `loss = <what it returns>`, when the loop uses it


@dataclass
class ModelRef:
    var: str
    binding: cst.BaseStatement  # `model = Net(...)`
    call: cst.Call  # the constructor call
    cls: ModelClass | None  # None: defined elsewhere, wrapped in a generated LightningModule
    attribute: str = "self"  # how the hooks reach it: self, self.model, or self.<var>


@dataclass
class EpochLoop:
    var: str | None
    start: cst.BaseExpression | None  # the first epoch's number, when not 0
    max_epochs: cst.BaseExpression
    loop: cst.For | None = None  # None: a single pass over the loader, or a full-batch loop


class Claim(Enum):
    """What a pattern took a statement for (the core checks read these)."""

    ZERO_GRAD = "zero_grad"
    BACKWARD = "backward"
    STEP = "step"
    CLIP = "clip"
    SCALER_UPDATE = "scaler update"
    SCHEDULER_STEP = "scheduler step"
    MODE_TRAIN = "model.train()"
    MODE_EVAL = "model.eval()"
    SET_EPOCH = "set_epoch"


@dataclass
class TrainingSite:
    batch_loop: cst.For
    site_function: cst.FunctionDef | None  # None: module level
    origin: Origin  # the site's own scope
    loop_origin: Origin  # the batch loop's (an inlined function's body, or the site's)
    train_part: cst.BaseStatement  # the batch loop, or the call of the inlined function
    step_function: StepFunction | None = None
    models: list[ModelRef] = field(default_factory=list)  # what the optimizers train
    optimizer_vars: list[str] = field(default_factory=list)
    # .step() calls the automatic loop cannot make: with a closure, or inside other statements
    hand_steps: list[cst.Call] = field(default_factory=list)
    manual: bool = False  # several optimizers or hand-made steps: manual optimization
    setup: list[Moved] = field(default_factory=list)  # configure_optimizers' statements
    epoch: EpochLoop | None = None
    stages: dict[StageName, Stage] = field(default_factory=dict)
    loss: cst.BaseExpression | None = None  # what the batch loop called backward() on
    loss_origin: Origin | None = None
    bindings: dict[str, Binding] = field(default_factory=dict)
    namespace_binding: cst.BaseStatement | None = None  # `args = parser.parse_args()`
    removed: list[cst.BaseStatement] = field(default_factory=list)  # dropped at the site
    test_region: list[cst.BaseStatement] = field(default_factory=list)  # -> trainer.test
    deleted_functions: list[cst.FunctionDef] = field(default_factory=list)
    kept_functions: list[cst.FunctionDef] = field(default_factory=list)  # moved, still called
    inlined: dict[str, cst.FunctionDef] = field(default_factory=dict)
    train_result: cst.SimpleStatementLine | None = None  # `loss = train(...)`'s value
    # The epoch's wrap-up the original ran before evaluating: it is training code, and runs
    # after the epoch's last batch (on_train_batch_end), before Lightning validates.
    before_validation: list[Moved] = field(default_factory=list)
    # The epoch's code after evaluating that reads its results: it runs at the end of
    # on_validation_epoch_end, only when the validation is part of fit (not the sanity check,
    # not trainer.validate), so that each hook also runs alone.
    after_validation: list[Moved] = field(default_factory=list)
    batch_body: list[cst.BaseStatement] = field(default_factory=list)  # before any claim
    claims: dict[tuple[Hook, Claim], list[cst.BaseStatement]] = field(default_factory=dict)
    # break/continue/return inside moved code that a pattern turns into Lightning's own control
    exits: set[cst.CSTNode] = field(default_factory=set)
    # code that stays at the site but that a pattern rewrites (`sampler=sampler` -> `shuffle=`)
    rewritten: list[cst.CSTNode] = field(default_factory=list)
    # optimizers and schedulers read after training, reached through the trainer then
    read_after: list[cst.Name] = field(default_factory=list)
    # the generated wrapper's name, where another site of the file wraps the same (`LitCNN_2`)
    class_name: str | None = None
    _states: dict[str, object] = field(default_factory=dict)

    # -- who is who --------------------------------------------------------------------------

    def bind(self, name: str, role: Role, in_hooks: str | None = None) -> None:
        self.bindings[name] = Binding(name, role, in_hooks)

    def names(self, role: Role) -> list[str]:
        """The site variables of a role, in the order they were bound."""
        return [b.name for b in self.bindings.values() if b.role is role]

    def role_of(self, name: str | None) -> Role | None:
        binding = self.bindings.get(name) if name else None
        return binding.role if binding else None

    @property
    def model(self) -> ModelRef:
        return self.models[0]

    @property
    def model_vars(self) -> set[str]:
        return {model.var for model in self.models}

    @property
    def optimizer_var(self) -> str:
        return self.optimizer_vars[0]

    @property
    def namespace_var(self) -> str | None:
        return next(iter(self.names(Role.NAMESPACE)), None)

    @property
    def site_scope(self) -> Scope:
        return self.origin.scope

    def model_attribute(self, name: str) -> str | None:
        return next((model.attribute for model in self.models if model.var == name), None)

    @property
    def module_class(self) -> str:
        if self.model.cls is not None:
            return self.model.cls.name
        if self.class_name is not None:
            return self.class_name
        if len(self.models) == 1:
            return "Lit" + _camel(self.model.call)
        return "Lit" + "".join(_camel_name(model.var) for model in self.models)

    # -- what moves where --------------------------------------------------------------------

    @property
    def train(self) -> Stage:
        return self.stages[StageName.TRAIN]

    @property
    def outer_loop(self) -> cst.For:
        """The loop the Trainer replaces: the epoch loop, or the batch loop alone."""
        return self.epoch.loop if self.epoch and self.epoch.loop else self.train.loop

    def hooks(self) -> dict[tuple[StageName | None, Hook], list[Moved]]:
        found: dict[tuple[StageName | None, Hook], list[Moved]] = {
            (None, Hook.CONFIGURE_OPTIMIZERS): self.setup
        }
        for stage in self.stages.values():
            for hook, moved in stage.hooks().items():
                found[(stage.name, hook)] = moved
        return found

    def all_moved(self) -> list[Moved]:
        return [item for moved in self.hooks().values() for item in moved]

    def claim(self, hook: Hook, what: Claim, statement: cst.BaseStatement) -> None:
        self.claims.setdefault((hook, what), []).append(statement)

    def claimed(self, hook: Hook, what: Claim) -> list[cst.BaseStatement]:
        return self.claims.get((hook, what), [])

    def claimed_in(self, stage: StageName, what: Claim) -> list[cst.BaseStatement]:
        return [s for hook in STAGE_HOOKS[stage] for s in self.claimed(hook, what)]

    def state(self, pattern):
        """The pattern's own findings at this site (made on first use from `pattern.State`)."""
        if pattern.name not in self._states:
            self._states[pattern.name] = pattern.State()
        return self._states[pattern.name]


def _camel(call: cst.Call) -> str:
    func = call.func
    name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "Model")
    return _camel_name(str(name))


def _camel_name(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_")) or "Model"
