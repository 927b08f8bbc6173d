"""Use the converted module the way a Lightning user goes on to use it: one more run of the
conversion (``verify --lightning-uses``), child side.

Runs inside a verify child process; :mod:`~converter.verify.trainer_hooks` wraps ``Trainer.fit``
with :func:`wrap_fit` when the plan asks for it. The script's own ``fit`` still trains (with the
default sanity check and ``check_val_every_n_epoch=2`` forced on its Trainer by the parent, so
that both run), and around it, each in a Trainer of its own on one CPU process:

* before training, on a copy of the fresh module: ``validate``, ``test`` and ``predict`` alone;
* after training, on the trained module: the same three;
* a checkpoint: ``trainer.save_checkpoint``, then ``Cls.load_from_checkpoint(path)`` alone (its
  constructor arguments from the checkpoint's hyper-parameters, as another script would get
  it), validated and tested: the same numbers as the trained module, printed and returned;
* what ``validate``/``test`` of the trained module return (what the logger gets) against what the
  script printed during them: every logged value must be one of the printed numbers.

The loaders are the script's own: those given to ``fit`` (validation, else training) or the
module's or datamodule's. Every check runs under ``isolate_rng``, seeded alike (a shuffling
loader gives the trained and the reloaded module the same batches), and never stops the script: each
outcome (``ok`` or the error, with the line of the converted script it came from) goes into
``plan.uses``, which the runner writes into the trace.
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import os
import sys
import traceback

CHECKPOINT = "verify-lightning-uses.ckpt"
QUIET = {
    "accelerator": "cpu",
    "devices": 1,
    "logger": False,
    "enable_checkpointing": False,
    "enable_progress_bar": False,
    "enable_model_summary": False,
}


def wrap_fit(trainer_cls, original_fit, plan, package: str):
    signature = inspect.signature(original_fit)
    lightning = sys.modules[package]
    isolate_rng = importlib.import_module(f"{package}.utilities.seed").isolate_rng

    @functools.wraps(original_fit)
    def fit(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        model = bound.arguments["model"]
        checks = _Checks(trainer_cls, lightning, plan, bound, self, isolate_rng)
        checks.alone(_fresh_copy(model), "a fresh module")
        result = original_fit(self, *args, **kwargs)
        plan.uses.append(
            {"check": "fit with the default sanity check and check_val_every_n_epoch=2"}
        )
        checks.alone(model, "the trained module")
        checks.reloaded(model)
        return result

    return fit


def record_init_args(module_cls) -> None:
    """Keep what each LightningModule was constructed with (``ResNet(ResidualBlock, [2, 2])``),
    read from the outermost ``__init__`` calling ``LightningModule.__init__``: an argument that
    is not a hyper-parameter (a class, a model) is given again from it on reload, as a user's
    other script would give it."""
    original = module_cls.__init__

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        frame, found = inspect.currentframe().f_back, None
        while frame is not None and frame.f_code.co_name == "__init__":
            if frame.f_locals.get("self") is not self:
                break
            found, frame = frame, frame.f_back
        if found is not None:
            info = inspect.getargvalues(found)
            named = {n: info.locals[n] for n in info.args[1:] if n in info.locals}
            if info.keywords:
                named.update(info.locals.get(info.keywords) or {})
            object.__setattr__(self, "_verify_init_args", named)

    module_cls.__init__ = __init__


def _given_again(model) -> dict:
    """The constructor arguments a checkpoint cannot hold and the constructor requires (a model
    a generated module wraps, ``save_hyperparameters(ignore=[...])``): another script gives them
    again, as Lightning documents (``load_from_checkpoint(path, model=...)``); here, copies of the
    trained module's own. An argument with a default is not given: a module reloaded with that
    default (``criterion=None``) must still work."""
    saved = set(getattr(model, "hparams", None) or {})
    parameters = list(inspect.signature(type(model).__init__).parameters.values())[1:]
    given = {}
    for p in parameters:
        required = p.default is inspect.Parameter.empty and p.kind in (
            p.POSITIONAL_OR_KEYWORD,
            p.KEYWORD_ONLY,
        )
        constructed = getattr(model, "_verify_init_args", {})
        if required and p.name not in saved and hasattr(model, p.name):
            given[p.name] = copy.deepcopy(getattr(model, p.name))
        elif required and p.name not in saved and p.name in constructed:
            given[p.name] = copy.deepcopy(constructed[p.name])
    return given


def _fresh_copy(model):
    try:
        return copy.deepcopy(model)
    except Exception:  # a module holding something that cannot be copied (a file, a lock)
        return None


class _Checks:
    def __init__(self, trainer_cls, lightning, plan, bound, trainer, isolate_rng) -> None:
        self.trainer_cls, self.lightning, self.plan = trainer_cls, lightning, plan
        self.isolate_rng = isolate_rng
        self.arguments, self.trainer = bound.arguments, trainer
        self.script = os.path.realpath(sys.argv[0])
        self.results: dict[str, dict] = {}

    # -- what to run on --------------------------------------------------------------------
    def _overrides(self, model, hook: str) -> bool:
        base = getattr(self.lightning.LightningModule, hook, None)
        return getattr(type(model), hook, None) is not base

    def _data(self, model, stage: str) -> dict | None:
        """The keyword arguments that give ``stage`` its loaders, or None when there are none."""
        arguments = self.arguments
        if arguments.get("datamodule") is not None:
            return {"datamodule": arguments["datamodule"]}
        if arguments.get("val_dataloaders") is not None:
            return {"dataloaders": arguments["val_dataloaders"]}
        if self._overrides(model, f"{stage}_dataloader") or self._overrides(
            model, "val_dataloader"
        ):
            return {}
        if stage == "predict" and arguments.get("train_dataloaders") is not None:
            loader = arguments["train_dataloaders"]
            return {"dataloaders": loader} if self._holds_tensors(loader) else None
        return None

    def _holds_tensors(self, loader) -> bool:
        """Whether the loader's batches hold a tensor a model could be given: a full-batch
        conversion trains from a one-item stand-in loader (`DataLoader([0])`) that holds none."""
        import torch

        try:
            with self.isolate_rng():
                batch = next(iter(loader))
        except Exception:  # noqa: BLE001 - not a plain loader: let predict itself say
            return True
        found = []

        def visit(value):
            if isinstance(value, torch.Tensor):
                found.append(value.is_floating_point() or value.dim() > 1)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    visit(item)
            elif isinstance(value, dict):
                for item in value.values():
                    visit(item)

        visit(batch)
        return any(found)

    # -- the checks ------------------------------------------------------------------------
    def alone(self, model, which: str) -> None:
        if model is None:
            self._record(f"validate, test, predict {which}", "skipped: it cannot be copied")
            return
        for stage, step in (("validate", "validation_step"), ("test", "test_step")):
            if self._overrides(model, step):
                self._run(stage, model, which)
        self._run("predict", model, which)

    def reloaded(self, model) -> None:
        given = _given_again(model)
        again = f", given {', '.join(given)} again" if given else ""
        name = f"load_from_checkpoint ({type(model).__name__}{again})"
        try:
            self.trainer.save_checkpoint(CHECKPOINT)
            reloaded = type(model).load_from_checkpoint(CHECKPOINT, map_location="cpu", **given)
        except Exception as exc:  # noqa: BLE001 - the user's module: any error is a finding
            self._record(name, self._error(exc))
            return
        self._record(name, None)
        for stage in ("validate", "test", "predict"):
            trained = self.results.get(f"{stage} the trained module")
            if trained is None or "returned" not in trained:  # failed, or skipped
                continue
            again = self._run(stage, reloaded, "the module reloaded from a checkpoint")
            if again is None or "returned" not in again:
                continue
            for key in ("returned", "printed"):
                # repr: a NaN metric (a run that diverged) is the same NaN in both
                if again[key] != trained[key] and repr(again[key]) != repr(trained[key]):
                    self._record(
                        f"{stage} the reloaded module like the trained one",
                        f"it {key} {again[key]!r}, the trained module {trained[key]!r}",
                    )
                    break
            else:
                self._record(f"{stage} the reloaded module like the trained one", None)

    def _run(self, stage: str, model, which: str) -> dict | None:
        data = self._data(model, stage)
        name = f"{stage} {which}"
        if data is None:
            self._record(name, "skipped: no loader for it")
            return None
        label = f"use: {name}"
        capture = self.plan.capture
        outer, capture.label = capture.label, label
        calls = len(self.plan.evaluations)  # validate/test label their own calls
        try:
            with self.isolate_rng():
                _seed_every_generator()  # a shuffling loader: the same order for each use
                checker = self.trainer_cls(**{**self.trainer_options(), **QUIET})
                returned = getattr(checker, stage)(model, **data)
        except Exception as exc:  # noqa: BLE001 - the user's module: any error is a finding
            if stage == "predict" and not self._overrides(model, "predict_step"):
                # Lightning's own predict_step hands forward the whole batch: a module whose
                # forward takes part of it needs a predict_step, which the report says is not
                # written (verify's use of the training loader is its own guess, not the script's)
                return self._record(name, f"skipped: no predict_step ({self._error(exc)})")
            return self._record(name, self._error(exc))
        finally:
            capture.label = outer
        labels = {label, *(e["label"] for e in self.plan.evaluations[calls:])}
        printed = "".join(text for seg_label, text in capture.segments if seg_label in labels)
        result = self._record(name, None)
        # predictions are compared as what they are, not as text (see reloaded())
        result["returned"] = _plain(returned) if stage != "predict" else _digest(returned)
        result["printed"] = printed
        return result

    def trainer_options(self) -> dict:
        """The script Trainer's settings that change what an evaluation computes."""
        options = getattr(self.trainer, "_verify_options", {})
        keep = ("precision", "inference_mode", "deterministic", "barebones")
        return {k: v for k, v in options.items() if k in keep}

    def _record(self, name: str, problem: str | None) -> dict:
        entry = {"check": name}
        if problem is not None:
            key = "skipped" if problem.startswith("skipped") else "error"
            entry[key] = problem
        self.plan.uses.append(entry)
        self.results[name] = entry
        return entry

    def _error(self, exc: BaseException) -> str:
        where = ""
        for frame in traceback.extract_tb(exc.__traceback__):
            if os.path.realpath(frame.filename) == self.script:
                where = f" (line {frame.lineno}: {frame.line})"
        return f"{type(exc).__name__}: {exc}{where}"


def _seed_every_generator(seed: int = 0) -> None:
    """The same random draws in every use (the caller's ``isolate_rng`` restores the script's)."""
    import random

    import torch

    random.seed(seed)
    torch.manual_seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed)


def _digest(value) -> str:
    """Predictions, shortly: the SHA-256 of every tensor's bytes, in order."""
    import hashlib

    import torch

    digest = hashlib.sha256()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, torch.Tensor):
            digest.update(item.detach().cpu().contiguous().numpy().tobytes())
        elif isinstance(item, dict):
            stack.extend(item[k] for k in sorted(item, key=str))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        else:
            digest.update(repr(item).encode())
    return digest.hexdigest()


def _plain(value):
    if hasattr(value, "detach"):
        value = value.detach().double().cpu()
        return value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (int, float, str, bool, type(None))) else repr(value)
