"""Pass 5: offer each statement that moves into a hook to the patterns, in registry order; the
first that claims it records what it meant and the statement is not copied (unless the pattern
keeps it in place, to rewrite it)."""

from __future__ import annotations

from converter.analysis.index import SourceIndex
from converter.analysis.site import TrainingSite
from converter.targets.trainer.patterns import PATTERNS, ClaimContext


def claim_statements(site: TrainingSite, index: SourceIndex) -> None:
    site.batch_body = [item.node for item in site.train.step]
    # Under manual optimization the loop's own zero_grad/backward/step calls stay.
    patterns = [p for p in PATTERNS if p.claims_under_manual or not site.manual]
    for stage in site.stages.values():
        for hook, moved in stage.hooks().items():
            kept = []
            for item in moved:
                ctx = ClaimContext(index, site, item.origin, stage.name, hook)
                if not any(pattern.claim(item.node, ctx) for pattern in patterns) or ctx.keep:
                    kept.append(item)
            moved[:] = kept
