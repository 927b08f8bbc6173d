"""``--devices N``: the conversion's evaluation of the same weights on 1 and on N processes.

Pure Python: runs in the CLI process on the traces of the evaluation runs (see
:mod:`~converter.verify.trainer_hooks`): one trace from the run on one process, one per rank of the
run on N. Each records, for every ``Trainer.validate``/``test`` call, what it returned on that
process and what the script printed during it. The N-process run must tell the same story:

* the same calls (validate, test...) in the same order;
* rank 0 prints what the single process printed (numbers within the tolerance below), and the
  other ranks print nothing (a line printed by every process is printed N times);
* every logged metric is there with the single process's value, on every rank (a metric logged
  without ``sync_dist=True`` holds each process's own shard).

Numbers are compared with at least :data:`TOLERANCE`: a mean over N shards adds in another order
than a mean over one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from converter.verify import printed
from converter.verify.compare import agree

TOLERANCE = 1e-5


@dataclass
class EvaluationCheck:
    processes: int
    calls: list[str] = field(default_factory=list)  # "validate", "test", in order
    details: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def equivalent(self) -> bool:
        return not self.problems


def _metrics(evaluation: dict) -> dict[str, object]:
    merged: dict[str, object] = {}
    for per_loader in evaluation.get("results") or ():
        if isinstance(per_loader, dict):
            merged.update(per_loader)
    return merged


def _value_agrees(a, b, tolerance: float) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return agree(float(a), float(b), tolerance)
    return a == b


def _fmt(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


def check(
    reference: dict, ranks: list[dict], tolerance: float = 0.0, fabric: bool = False
) -> EvaluationCheck:
    """``fabric``: the runs are a Fabric script's, whose evaluations are the stretches where it
    had a model in eval mode (see :mod:`~converter.verify.fabric_hooks`); it logs nothing."""
    tolerance = max(tolerance, TOLERANCE)
    n = len(ranks)
    result = EvaluationCheck(processes=n)
    one = reference.get("evaluations", [])
    result.calls = [e["stage"] for e in one]
    for rank, trace in enumerate(ranks):
        stages = [e["stage"] for e in trace.get("evaluations", [])]
        if stages != result.calls:
            result.problems.append(
                f"rank {rank} of {n} ran {', '.join(stages) or 'no evaluation'}, "
                f"1 process {', '.join(result.calls) or 'none'}"
            )
    if result.problems:
        return result
    names = ("1 process", f"{n} processes")
    printer = "fabric.print" if fabric else "self.print"
    for i, evaluation in enumerate(one):
        label, stage = evaluation["label"], evaluation["stage"]
        alone = printed.lines(reference.get("printed", []), label)
        by_rank = [printed.lines(t.get("printed", []), label) for t in ranks]
        within = max(tolerance, evaluation.get("tolerance", 0.0))
        varies = None
        if evaluation.get("reordered"):  # numbers that change with the batches' order
            again = printed.lines(reference.get("printed", []), evaluation["reordered"])
            varies = printed.varying(alone, again, TOLERANCE)
        lines = printed.compare_lines(alone, by_rank[0], within, varies=varies)
        if not lines.equivalent:
            result.problems.append(f"{stage}: what rank 0 printed differs from 1 process")
            result.details += [f"{stage}: " + line for line in printed.describe(lines, names)]
        for rank in range(1, n):
            for what, own in ((stage, label), (f"{stage} (its steps)", evaluation.get("steps"))):
                theirs = printed.lines(ranks[rank].get("printed", []), own) if own else []
                if theirs:
                    result.problems.append(
                        f"{what}: rank {rank} printed too ({printed.count(theirs)}, first: "
                        f"{theirs[0]!r}): print once ({printer}, or rank zero only)"
                    )
        expected = _metrics(evaluation)
        for name, value in expected.items():
            got = [_metrics(t["evaluations"][i]).get(name, "(not logged)") for t in ranks]
            if all(_value_agrees(value, g, tolerance) for g in got):
                continue
            per_rank = ", ".join(f"rank {r}: {_fmt(g)}" for r, g in enumerate(got))
            result.problems.append(
                f"{stage}: logged {name} = {_fmt(value)} on 1 process, {per_rank} on {n} "
                "(reduce it across processes: self.log(..., sync_dist=True))"
            )
        extra = sorted(set().union(*(_metrics(t["evaluations"][i]) for t in ranks)) - set(expected))
        if extra:
            result.problems.append(f"{stage}: logged only on {n} processes: {', '.join(extra)}")
        logged = (
            ""
            if fabric
            else f", {len(expected)} logged metric"
            + ("" if len(expected) == 1 else "s")
            + (f" ({', '.join(sorted(expected))})" if expected else "")
        )
        result.details.append(f"{stage}: {printed.count(alone)} printed{logged}")
    return result
