"""The script's own state across epochs (a patience counter, the best value so far, set before
the epoch loop) lives on the module, set in `__init__`, and goes into every checkpoint
(`on_save_checkpoint` / `on_load_checkpoint`): a run resumed with `trainer.fit(...,
ckpt_path=...)` goes on from it instead of starting over (Lightning restores a checkpoint before
`on_fit_start`, so the state cannot be set there)."""

from __future__ import annotations

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.analysis.site import TrainingSite
from converter.patterns.base import Emission, Pattern
from converter.templating import expr, fill

KEY = "loop_state"


class LoopState(Pattern):
    name = "loop-state"

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        # set where the script set them, just before training: `lit.prev_time = prev_time`
        out.late_settings += [(flow.attr(n), cst.Name(n)) for n in flow.handed]
        if not flow.fit_start:
            return
        out.init_statements += [
            cst.SimpleStatementLine(
                [cst.Assign([cst.AssignTarget(expr(f"self.{flow.attr(n)}"))], value)]
            )
            for n, value in flow.fit_start
        ]
        names = [n for n, _ in flow.fit_start]
        saved = cst.Dict(
            [
                cst.DictElement(cst.SimpleString(f'"{n}"'), expr(f"self.{flow.attr(n)}"))
                for n in names
            ]
        )
        restored = [
            cst.parse_statement(f'self.{flow.attr(n)} = checkpoint["{KEY}"]["{n}"]') for n in names
        ]
        out.methods += fill("save_loop_state", key=cst.SimpleString(f'"{KEY}"'), state=saved)
        out.methods += fill("load_loop_state", body=restored)


PATTERN = LoopState()
