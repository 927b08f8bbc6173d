"""The findings of the analysis: what to move where. Rewriting works only from these."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import Scope

from converter.analysis.models import ModelClass


class Declined(Exception):
    """The analysis cannot convert this faithfully; `line` and the message go in the report."""

    def __init__(self, line: int, message: str, kind: str = "loop") -> None:
        super().__init__(message)
        self.line = line
        self.kind = kind


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


@dataclass(frozen=True)
class Moved:
    """One statement that moves into a LightningModule hook."""

    node: cst.BaseStatement
    origin: Origin


# Lightning hooks, in the order Lightning calls them within one epoch.
STAGE_HOOKS = {
    "train": ("on_train_epoch_start", "training_step", "on_train_epoch_end"),
    "validation": ("on_validation_epoch_start", "validation_step", "on_validation_epoch_end"),
    "test": ("on_test_epoch_start", "test_step", "on_test_epoch_end"),
}


@dataclass
class Stage:
    """A loop over a DataLoader and the code around it, headed for one stage's hooks."""

    name: str  # train | validation | test
    loop: cst.For
    loop_origin: Origin
    loader: cst.BaseExpression  # the loader as the site names it
    batch_target: cst.BaseAssignTargetExpression
    index_name: str | None = None
    index_start: cst.BaseExpression | None = None
    start: list[Moved] = field(default_factory=list)
    step: list[Moved] = field(default_factory=list)
    end: list[Moved] = field(default_factory=list)
    # A full-batch step loop (`for t in range(N)`) has no loader: the site gets a one-batch one.
    full_batch: bool = False

    def hooks(self) -> dict[str, list[Moved]]:
        start, step, end = STAGE_HOOKS[self.name]
        return {start: self.start, step: self.step, end: self.end}


@dataclass
class ModelRef:
    var: str
    binding: cst.BaseStatement  # `model = Net(...)`
    call: cst.Call  # the constructor call
    cls: ModelClass | None  # None: defined elsewhere, wrapped in a generated LightningModule
    attribute: str = "self"  # how the hooks reach it: self, self.model, or self.<var>


@dataclass
class TrainingPlan:
    site_function: cst.FunctionDef | None  # None: module level
    site_scope: Scope
    models: list[ModelRef]  # what the optimizers train; the first is the primary one
    optimizer_vars: list[str]
    manual: bool = False  # several optimizers or hand-made steps: manual optimization
    scheduler_vars: list[str] = field(default_factory=list)
    scheduler_interval: str | None = None
    plateau: bool = False  # ReduceLROnPlateau: stepped on `monitor`, logged by validation
    monitor: str | None = None
    setup: list[Moved] = field(default_factory=list)  # configure_optimizers' statements
    epoch_loop: cst.For | None = None
    epoch_var: str | None = None
    epoch_start: cst.BaseExpression | None = None
    max_epochs: cst.BaseExpression | None = None
    stages: dict[str, Stage] = field(default_factory=dict)
    loss: cst.BaseExpression | None = None  # what the batch loop called backward() on
    loss_origin: Origin | None = None
    # Trainer options found by rules: value as written, and where its names are bound.
    trainer_kwargs: dict[str, tuple[cst.BaseExpression, Origin | None]] = field(
        default_factory=dict
    )
    namespace_var: str | None = None  # argparse result: its attributes become self.hparams
    namespace_binding: cst.BaseStatement | None = None  # `args = parser.parse_args()`
    device_vars: set[str] = field(default_factory=set)
    scaler_vars: set[str] = field(default_factory=set)
    samplers: dict[str, cst.BaseExpression] = field(
        default_factory=dict
    )  # DistributedSampler: shuffle
    rank_vars: dict[str, str] = field(
        default_factory=dict
    )  # rank variable -> self.global_rank...  # GradScaler: Lightning's precision does it
    removed: list[cst.BaseStatement] = field(default_factory=list)  # dropped at the site
    test_region: list[cst.BaseStatement] = field(default_factory=list)  # replaced by trainer.test
    deleted_functions: list[cst.FunctionDef] = field(default_factory=list)
    early_stops: set[cst.Break] = field(default_factory=set)  # become trainer.should_stop
    # The epoch's wrap-up the original ran before evaluating: it opens on_validation_epoch_start.
    before_validation: list[Moved] = field(default_factory=list)
    inlined: dict[str, cst.FunctionDef] = field(default_factory=dict)

    @property
    def model(self) -> ModelRef:
        return self.models[0]

    @property
    def optimizer_var(self) -> str:
        return self.optimizer_vars[0]

    @property
    def scheduler_var(self) -> str | None:
        return self.scheduler_vars[0] if self.scheduler_vars else None

    @property
    def model_vars(self) -> set[str]:
        return {model.var for model in self.models}

    def model_attribute(self, name: str) -> str | None:
        return next((model.attribute for model in self.models if model.var == name), None)

    @property
    def module_class(self) -> str:
        if self.model.cls is not None:
            return self.model.cls.name
        if len(self.models) == 1:
            return "Lit" + _camel(self.model.call)
        return "Lit" + "".join(_camel_name(model.var) for model in self.models)

    def all_moved(self) -> list[Moved]:
        moved = list(self.setup)
        for stage in self.stages.values():
            moved += stage.start + stage.step + stage.end
        return moved


def _camel(call: cst.Call) -> str:
    func = call.func
    name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "Model")
    return _camel_name(str(name))


def _camel_name(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_")) or "Model"
