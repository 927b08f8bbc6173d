"""The planner: small passes over one `TrainingSite`, each readable alone.

    find_site        the batch loop, and the training function inlined into its caller
    bind_roles       optimizers, models, devices, argparse; then each pattern's bindings
    build_stages     train, validation and test stages, the epoch range; patterns reshape them
    check_setup_runs_once  optimizers created once, before the training loop
    check_control_flow   break/return/await... that would leave a loop that no longer exists
    check_random_draws_keep_their_place  no random draw moved behind a DataLoader's seed
    check_own_generator_runs_out  no shuffling generator Lightning would leave a draw short
    check_arguments_fit_fstrings  string arguments an inlined function reads in f-string braces
    claim_statements each moved statement offered to the patterns
    check_removed_names_unread  what the site loses, nothing that stays still reads
    (dataflow)       which names the hooks share, hyper-parameters, readers after training
    check_repeated_training  training repeated by a loop around it, exact or declined
    check_site       each pattern's own checks

Everything that declines does so here, before any code is emitted.
"""

from __future__ import annotations

import libcst as cst

from converter.analysis.dataflow import Dataflow, analyse
from converter.analysis.index import SourceIndex
from converter.analysis.models import ModelClass
from converter.analysis.site import TrainingSite
from converter.targets.trainer.patterns import PATTERNS
from converter.targets.trainer.planning.checks import (
    check_arguments_fit_fstrings,
    check_control_flow,
    check_own_generator_runs_out,
    check_random_draws_keep_their_place,
    check_removed_names_unread,
    check_repeated_training,
    check_setup_runs_once,
    keep_functions_still_used,
)
from converter.targets.trainer.planning.claims import claim_statements
from converter.targets.trainer.planning.find import find_backward_loops, find_site
from converter.targets.trainer.planning.roles import bind_roles
from converter.targets.trainer.planning.stages import build_stages


def plan_site(
    index: SourceIndex, models: dict[str, ModelClass], batch_loop: cst.For
) -> tuple[TrainingSite, Dataflow]:
    site = find_site(index, batch_loop)
    bind_roles(site, index, models)
    build_stages(site, index)
    check_setup_runs_once(site, index)
    check_control_flow(site, index)
    check_random_draws_keep_their_place(site, index)
    check_own_generator_runs_out(site, index)
    check_arguments_fit_fstrings(site, index)
    claim_statements(site, index)
    keep_functions_still_used(site, index)
    check_removed_names_unread(site, index)
    flow = analyse(index, site)
    check_repeated_training(site, index, flow)
    for pattern in PATTERNS:
        pattern.check(site, index, flow)
    return site, flow


__all__ = ["find_backward_loops", "plan_site"]
