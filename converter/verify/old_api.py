"""`verify --old-torch-api`: spellings and defaults of older PyTorch (and of the NumPy and
matplotlib of its day) that many tutorials still use, restored in both runs, so that such a
script and its conversion can be compared at all:

- `loss.data[0]` (and `loss[0]`) on a 0-dimensional tensor: the value, as a Python number, as it
  was when a loss was a one-element tensor (before 0.4);
- `iter(loader).next()`: Python 2's name for `next(iterator)`;
- `torch.load(path)` of any pickled object (a saved numpy array): `weights_only=False`, the
  default before 2.6;
- `verbose=` of the learning-rate schedulers (`ReduceLROnPlateau(..., verbose=True)`), removed
  in 2.7: accepted and ignored (the schedulers no longer print their changes);
- `binary_cross_entropy` (`nn.BCELoss`) of a target whose shape differs from the input's but
  whose size does not (`[128]` against `[128, 1]`): a warning before 1.5, element by element in
  memory order; now it raises;
- torchvision's `transforms.Scale`, `Resize`'s name before 0.2.1 (removed in 0.13);
- `Normalize` with more means than the image has channels (`(0.5, 0.5, 0.5)` on 1-channel MNIST):
  torchvision before 0.2.2 paired them with `zip`, so the extra ones were not used; now it raises;
- NumPy's aliases `np.Inf`, `np.NaN` (removed in 2.0) and `np.float`, `np.int`, `np.bool`,
  `np.object` (removed in 1.24): the same values and builtins as then;
- matplotlib's `fig.add_subplot(2, 20/2, i)`: a grid size given as a whole float, taken as the
  integer until matplotlib 3.3.

Nothing else changes; the conversion runs under the same shim as the original, so what verify
compares is still the conversion against the original.
"""

from __future__ import annotations


def install() -> list[str]:
    import torch
    from torch.utils.data.dataloader import _BaseDataLoaderIter

    _index_0_dim_as_before(torch)
    _BaseDataLoaderIter.next = _BaseDataLoaderIter.__next__
    _load_any_pickle(torch)
    _schedulers_accept_verbose(torch)
    _bce_of_any_shape(torch)
    old_vision = _old_torchvision() + _old_numpy() + _old_matplotlib()
    return [
        "loss.data[0] on a 0-dim tensor",
        "iterator.next()",
        "torch.load(weights_only=False)",
        "schedulers' verbose=",
        "binary_cross_entropy of a reshaped target",
        *old_vision,
    ]


def _bce_of_any_shape(torch) -> None:
    from torch.nn import functional

    bce = functional.binary_cross_entropy

    def bce_as_before(input, target, *args, **kwargs):
        if target.shape != input.shape and target.numel() == input.numel():
            target = target.reshape(input.shape)
        return bce(input, target, *args, **kwargs)

    functional.binary_cross_entropy = bce_as_before


def _old_numpy() -> list[str]:
    try:
        import numpy
    except ImportError:
        return []
    aliases = {"Inf": numpy.inf, "NaN": numpy.nan, "float": float, "int": int, "bool": bool}
    aliases["object"] = object
    for name, value in aliases.items():
        if name not in vars(numpy):  # `numpy.float` raises its own AttributeError message
            setattr(numpy, name, value)
    return ["numpy's removed aliases"]


def _old_matplotlib() -> list[str]:
    try:
        from matplotlib import figure
    except ImportError:
        return []
    add_subplot = figure.Figure.add_subplot

    def add_subplot_of_whole_floats(self, *args, **kwargs):
        args = tuple(int(a) if isinstance(a, float) and a.is_integer() else a for a in args)
        return add_subplot(self, *args, **kwargs)

    figure.Figure.add_subplot = add_subplot_of_whole_floats
    return ["add_subplot of whole floats"]


def _old_torchvision() -> list[str]:
    try:
        from torchvision import transforms
        from torchvision.transforms import functional
    except ImportError:
        return []
    transforms.Scale = transforms.Resize
    normalize = functional.normalize

    def normalize_as_zip(tensor, mean, std, inplace=False):
        channels = tensor.shape[-3] if tensor.dim() >= 3 else None
        many = isinstance(mean, (list, tuple)) and isinstance(std, (list, tuple))
        if many and channels is not None and len(mean) > channels:  # zip stopped at the channels
            mean, std = list(mean)[:channels], list(std)[:channels]
        return normalize(tensor, mean, std, inplace)

    functional.normalize = normalize_as_zip
    return ["transforms.Scale", "Normalize(zip of channels)"]


def _index_0_dim_as_before(torch) -> None:
    """`t[0]` of a 0-dim tensor is its value, through a torch function mode: assigning
    `Tensor.__getitem__` instead would make every tensor a Python sequence, and
    `torch.tensor([loss])` would then take the 0-dim `loss` apart (`len() of a 0-d tensor`)."""
    from torch.overrides import TorchFunctionMode

    index = torch.Tensor.__getitem__

    class ZeroDimIndex(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func is index and len(args) == 2 and type(args[1]) is int and args[1] in (0, -1):
                if isinstance(args[0], torch.Tensor) and args[0].dim() == 0:
                    return args[0].item()
            return func(*args, **(kwargs or {}))

    ZeroDimIndex().__enter__()  # for the rest of the run


def _load_any_pickle(torch) -> None:
    load = torch.load

    def load_as_before(*args, **kwargs):
        kwargs.setdefault("weights_only", False)
        return load(*args, **kwargs)

    torch.load = load_as_before


def _schedulers_accept_verbose(torch) -> None:
    import inspect

    from torch.optim import lr_scheduler

    for scheduler in vars(lr_scheduler).values():
        if not (inspect.isclass(scheduler) and scheduler.__module__ == lr_scheduler.__name__):
            continue
        init = scheduler.__dict__.get("__init__")
        if init is None or "verbose" in inspect.signature(init).parameters:
            continue

        def without_verbose(self, *args, _original=init, verbose=None, **kwargs):
            _original(self, *args, **kwargs)

        scheduler.__init__ = without_verbose
