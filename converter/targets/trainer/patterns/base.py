"""The pattern protocol: one plain-PyTorch shape and its Lightning equivalent, in one module.

The planner and the rewrite call every registered pattern at each phase, in registry order
(`converter.targets.trainer.patterns.PATTERNS`); a phase a pattern has nothing to say in is a no-op:

0. `stepped_optimizer(call, site)` / `wraps_model(call)`: while the core roles are bound, which
   optimizer a `.step(...)` call of the batch loop steps, and which rebindings of the model
   only wrap it.
1. `bind(site)`: recognise its bindings at the site (`scaler = GradScaler()`), after the core
   roles (models, optimizers, devices, argparse) are bound.
2. `build_train_stage(site, epoch_loop)`: a training loop shape of its own (full-batch loops);
   True when it built the train stage.
3. `reshape(site)`: rearrange the stages once they are built (autocast regions flattened,
   evaluation every k batches lifted out of the batch loop, early stopping).
4. `claim(statement, ctx)`: take a moved statement out of its hook (or keep it there for
   `emit` to rewrite: `ctx.keep_in_place()`); what it meant is recorded on the site or the
   pattern's state. Only `claims_under_manual` patterns are asked under
   manual optimization, where the loop's own calls stay.
5. `check(site, flow)`: decline (raise Declined) what it cannot convert faithfully. Every decline
   happens here or earlier: nothing is emitted before all checks passed.
6. `emit(site, flow, out)`: code into hooks, Trainer options, site edits (an `Emission`).
7. `report(site, report)`: what it found and changed.

A pattern keeps its findings in `site.state(self)`, an instance of its `State` dataclass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from converter.analysis.bindings import call_statement, method_call
from converter.analysis.index import SourceIndex
from converter.analysis.site import (
    Claim,
    Declined,
    Hook,
    Origin,
    Place,
    StageName,
    TrainingSite,
)

Replacement = Callable[[cst.CSTNode], cst.CSTNode]


@dataclass
class NoState:
    pass


@dataclass(frozen=True)
class Example:
    """A pattern's own example, as ruff's and Fixit's rules carry theirs: ``before`` is a whole
    script with the shape; ``after`` is what its conversion shows of the pattern, blocks of the
    converted script in order, separated by lines ``...`` (both written indented: the
    indentation of the closing quotes is taken off). docs/patterns.md is made of them
    (``python -m converter.targets.trainer.patterns.catalog --write``), and
    tests/patterns/test_examples.py converts each ``before`` and finds every block."""

    shape: str  # the plain PyTorch shape, in a few words (the docs table's first column)
    becomes: str  # what it becomes in Lightning
    before: str
    after: str

    def __post_init__(self) -> None:
        for name in ("before", "after"):
            object.__setattr__(self, name, _unindent(getattr(self, name)))

    def blocks(self) -> list[str]:
        return [block.strip("\n") + "\n" for block in self.after.split("\n...\n")]


def _unindent(text: str) -> str:
    """The text of a triple-quoted string written indented: without its first line ending and
    without the indentation of its closing quotes (a block's own indentation stays)."""
    indent = text[text.rfind("\n") + 1 :]
    lines = text.removeprefix("\n").splitlines(keepends=True)
    return "".join(line.removeprefix(indent) for line in lines).removesuffix(indent)


class Pattern:
    name: str = "pattern"
    State: type = NoState
    claims_under_manual = False
    example: Example | None = None

    def stepped_optimizer(
        self, call: cst.Call, site: TrainingSite, index: SourceIndex
    ) -> cst.BaseExpression | None:
        """For a `receiver.step(...)` of the batch loop whose receiver belongs to this pattern,
        the optimizer it steps (`scaler.step(optimizer)` steps `optimizer`)."""
        return None

    def wraps_model(self, call: cst.Call, index: SourceIndex) -> bool:
        """Whether `model = call(model)` rebinds the model without creating it (DDP)."""
        return False

    def bind(self, site: TrainingSite, index: SourceIndex) -> None:
        pass

    def build_train_stage(self, site: TrainingSite, index: SourceIndex, epoch_loop) -> bool:
        return False

    def epochs(self, loop: cst.For, index: SourceIndex) -> cst.Call | None:
        """For an epoch loop that does not iterate `range(...)` itself, the `range(...)` call
        it counts its epochs with (`tqdm(range(n))` counts `range(n)`), or None."""
        return None

    def reshape(self, site: TrainingSite, index: SourceIndex) -> None:
        pass

    def claim(self, statement: cst.BaseStatement, ctx: ClaimContext) -> bool:
        return False

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        pass

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        pass

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        pass


@dataclass
class ClaimContext:
    """What `claim` sees: the statement's stage, hook and place, and who is who at the site."""

    index: SourceIndex
    site: TrainingSite
    origin: Origin
    stage: StageName
    hook: Hook
    keep: bool = False  # a claimed statement that stays where it is, rewritten by `emit`

    @property
    def place(self) -> Place:
        return Place.of(self.stage, self.hook)

    def record(self, what: Claim, statement: cst.BaseStatement) -> None:
        self.site.claim(self.hook, what, statement)

    def keep_in_place(self) -> None:
        """The claimed statement stays in its hook (no later pattern sees it); the pattern's
        `emit` rewrites it through `Emission.replacements`."""
        self.keep = True

    def site_name(self, expr: cst.BaseExpression) -> str | None:
        return self.origin.site_name(expr)

    def is_model(self, expr: cst.BaseExpression) -> bool:
        return self.site_name(expr) in self.site.model_vars

    def is_optimizer(self, expr: cst.BaseExpression) -> bool:
        return self.site_name(expr) == self.site.optimizer_var

    def decline(self, node: cst.CSTNode, message: str) -> Declined:
        return Declined(self.index.line(node), message)


@dataclass
class TrainerOption:
    value: cst.BaseExpression  # as written where it was found
    origin: Origin | None = None  # where its names are bound (None: at the site)


@dataclass
class Emission:
    """What the patterns contribute to the output; the rewrite puts each piece in its place."""

    trainer: str = "trainer"  # the Trainer's variable at the site
    module: str = "model"  # the LightningModule's variable at the site

    trainer_options: dict[str, TrainerOption] = field(default_factory=dict)
    scheduler_config: dict[str, cst.BaseExpression] = field(default_factory=dict)
    # the module's __init__: keyword parameters, and statements after the base's __init__
    init_parameters: list[cst.Param] = field(default_factory=list)
    init_statements: list[cst.BaseStatement] = field(default_factory=list)
    constructor_arguments: list[cst.Arg] = field(default_factory=list)  # where it is created
    # attributes of the module set before training, where the site binds them only after
    # creating the model: (`hparams.epochs`, `epochs`)
    late_settings: list[tuple[str, cst.BaseExpression]] = field(default_factory=list)
    # the model's creation moves down to just after this site statement, which binds what its
    # constructor is now given
    created_after: cst.BaseStatement | None = None
    hook_openings: dict[Hook, list[cst.BaseStatement]] = field(default_factory=dict)
    hook_closings: dict[Hook, list[cst.BaseStatement]] = field(default_factory=dict)
    replacements: dict[cst.CSTNode, Replacement] = field(default_factory=dict)  # in moved code
    site_values: dict[cst.CSTNode, cst.CSTNode] = field(default_factory=dict)  # at the site
    site_removals: list[cst.BaseStatement] = field(default_factory=list)
    # site statements put inside another as they come out of the other edits (a rank-zero guard)
    site_wrappers: dict[cst.CSTNode, Callable[[cst.CSTNode], cst.CSTNode]] = field(
        default_factory=dict
    )
    prelude: list[cst.BaseStatement] = field(default_factory=list)  # before the Trainer
    after_fit: list[cst.BaseStatement] = field(default_factory=list)  # after trainer.fit(...)
    before_test: list[cst.BaseStatement] = field(default_factory=list)  # before trainer.test
    after_test: list[cst.BaseStatement] = field(default_factory=list)  # after trainer.test(...)
    imports: set[str] = field(default_factory=set)  # modules the emitted code names (`torch`)
    methods: list[cst.BaseStatement] = field(default_factory=list)  # helpers on the module

    def option(self, name: str, value: cst.BaseExpression, origin: Origin | None = None) -> None:
        self.trainer_options[name] = TrainerOption(value, origin)


__all__ = ["ClaimContext", "Emission", "Pattern", "TrainerOption", "call_statement", "method_call"]
