"""``--fake-data``: torchvision datasets replaced by small deterministic stand-ins, so any script
verifies offline and in seconds.

:func:`install` swaps ``MNIST``, ``FashionMNIST``, ``KMNIST``, ``EMNIST``, ``CIFAR10``,
``CIFAR100`` and ``SVHN`` in ``torchvision.datasets`` (and its submodules) for subclasses that keep
the real ``__getitem__``/``__len__``/``classes`` but never touch ``root``: no download, no files.
``ImageFolder`` is replaced only when its root folder does not exist (then 10 classes, 64x64 RGB).

The stand-ins have the real item shape, dtype and number of classes, ``FAKE_TRAIN`` training and
``FAKE_TEST`` test items, and images built from one pattern per class plus noise (so a model can
learn something). They come from a private ``torch.Generator`` seeded by the dataset's name and
split: the same in every run, and the global RNG the training uses is never drawn from.

An index up to the real dataset's size reads the stand-in's items round and round (item
``i % FAKE_TRAIN``): a script that splits by the real size (``Subset(ds, torch.arange(59000))``,
``SubsetRandomSampler(np.arange(50000))``) runs as it would on the real data.
"""

from __future__ import annotations

import operator
import sys
import zlib

import torch

from converter.verify.after_import import after_import

FAKE_TRAIN = 512
FAKE_TEST = 256


def _images(name: str, split: str, n: int, shape: tuple, classes: int, first: int = 0):
    """``n`` uint8 images of ``shape`` and their int64 labels in ``[first, classes)``."""
    protos = torch.randint(
        0,
        256,
        (classes, *shape),
        generator=torch.Generator().manual_seed(zlib.crc32(name.encode())),
    )
    g = torch.Generator().manual_seed(zlib.crc32(f"{name}:{split}".encode()))
    targets = torch.randint(first, classes, (n,), generator=g)
    noise = torch.randint(0, 256, (n, *shape), generator=g)
    return ((protos[targets] * 3 + noise) // 4).to(torch.uint8), targets


def _size(train: bool) -> int:
    return FAKE_TRAIN if train else FAKE_TEST


#: The real datasets' sizes, (train, test), EMNIST's and SVHN's by split.
REAL_SIZES = {
    "MNIST": (60000, 10000),
    "FashionMNIST": (60000, 10000),
    "KMNIST": (60000, 10000),
    "CIFAR10": (50000, 10000),
    "CIFAR100": (50000, 10000),
    "EMNISTbyclass": (697932, 116323),
    "EMNISTbymerge": (697932, 116323),
    "EMNISTbalanced": (112800, 18800),
    "EMNISTletters": (124800, 20800),
    "EMNISTdigits": (240000, 40000),
    "EMNISTmnist": (60000, 10000),
    "SVHNtrain": (73257, 0),
    "SVHNtest": (0, 26032),
    "SVHNextra": (531131, 0),
}


def _round_and_round(fake, real_size):
    """`fake` reading indices up to ``real_size(dataset)`` as its own items, round and round."""

    def __getitem__(self, index):
        try:
            at = operator.index(index)  # ints, numpy ints, one-element int tensors
        except TypeError:
            return fake.__base__.__getitem__(self, index)
        own = len(self)
        if own <= at < real_size(self):
            at %= own
        return fake.__base__.__getitem__(self, at)

    fake.__getitem__ = __getitem__
    return fake


def _build():
    """The stand-in classes, by name, built on the installed torchvision."""
    import torchvision.datasets as tvd
    from torchvision.datasets.vision import VisionDataset

    def mnist_like(real):
        class Fake(real):
            def __init__(
                self,
                root="",
                train=True,
                transform=None,
                target_transform=None,
                download=False,
                split=None,
            ):
                VisionDataset.__init__(
                    self, root, transform=transform, target_transform=target_transform
                )
                self.train = train
                classes = len(self.classes)
                first = 0
                if split is not None:  # EMNIST
                    self.split = split
                    self.classes = self.classes_split_dict[split]
                    classes = len(self.classes)
                    first = 1 if split == "letters" else 0  # "N/A" is class 0 there
                self.data, self.targets = _images(
                    f"{real.__name__}{split or ''}",
                    "train" if train else "test",
                    _size(train),
                    (28, 28),
                    classes,
                    first,
                )

        def real_size(dataset):
            sizes = REAL_SIZES[f"{real.__name__}{getattr(dataset, 'split', '') or ''}"]
            return sizes[0 if dataset.train else 1]

        return _round_and_round(Fake, real_size)

    def emnist(real):
        base = mnist_like(real)

        class Fake(base):
            def __init__(self, root="", split="balanced", **kwargs):
                super().__init__(root, split=split, **kwargs)

        return Fake

    def cifar(real, classes):
        class Fake(real):
            def __init__(
                self, root="", train=True, transform=None, target_transform=None, download=False
            ):
                VisionDataset.__init__(
                    self, root, transform=transform, target_transform=target_transform
                )
                self.train = train
                data, targets = _images(
                    real.__name__,
                    "train" if train else "test",
                    _size(train),
                    (32, 32, 3),
                    len(classes),
                )
                self.data, self.targets = data.numpy(), targets.tolist()
                self.classes = list(classes)
                self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

        return _round_and_round(Fake, lambda d: REAL_SIZES[real.__name__][0 if d.train else 1])

    class FakeSVHN(tvd.SVHN):
        def __init__(
            self, root="", split="train", transform=None, target_transform=None, download=False
        ):
            VisionDataset.__init__(
                self, root, transform=transform, target_transform=target_transform
            )
            self.split = split
            data, labels = _images("SVHN", split, _size(split != "test"), (3, 32, 32), 10)
            self.data, self.labels = data.numpy(), labels.numpy()

    _round_and_round(FakeSVHN, lambda d: max(REAL_SIZES[f"SVHN{d.split}"]))

    class FakeImageFolder(tvd.ImageFolder):
        def __init__(
            self,
            root,
            transform=None,
            target_transform=None,
            loader=None,
            is_valid_file=None,
            allow_empty=False,
        ):
            import os

            if os.path.isdir(root):
                kwargs = {"loader": loader} if loader is not None else {}
                super().__init__(
                    root,
                    transform,
                    target_transform,
                    is_valid_file=is_valid_file,
                    allow_empty=allow_empty,
                    **kwargs,
                )
                return
            from PIL import Image

            VisionDataset.__init__(
                self, root, transform=transform, target_transform=target_transform
            )
            split = "test" if any(w in str(root).lower() for w in ("val", "test")) else "train"
            data, targets = _images("ImageFolder", split, _size(split == "train"), (64, 64, 3), 10)
            self.classes = [f"class_{i}" for i in range(10)]
            self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
            self.samples = [(i, int(t)) for i, t in enumerate(targets)]
            self.targets = [s[1] for s in self.samples]
            self.imgs = self.samples
            self.loader = lambda i: Image.frombytes("RGB", (64, 64), data[i].numpy().tobytes())

    cifar10 = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    fakes = {
        "MNIST": mnist_like(tvd.MNIST),
        "FashionMNIST": mnist_like(tvd.FashionMNIST),
        "KMNIST": mnist_like(tvd.KMNIST),
        "EMNIST": emnist(tvd.EMNIST),
        "CIFAR10": cifar(tvd.CIFAR10, cifar10),
        "CIFAR100": cifar(tvd.CIFAR100, [f"class_{i}" for i in range(100)]),
        "SVHN": FakeSVHN,
        "ImageFolder": FakeImageFolder,
    }
    for name, fake in fakes.items():
        fake.__name__ = fake.__qualname__ = name
        fake.__module__ = __name__
    return fakes


def install() -> None:
    """Put the stand-ins in torchvision's datasets when the script imports them (at once if they
    are imported already): a script that never imports torchvision runs without it, as it would
    without verify (importing it takes over a second and loads torch's compiler stack)."""
    after_import("torchvision.datasets", _patch)


def _patch(tvd) -> None:
    fakes = _build()
    originals = {name: getattr(tvd, name) for name in fakes}
    for mod_name, mod in list(sys.modules.items()):
        if mod is None or not mod_name.startswith("torchvision.datasets"):
            continue
        for name, fake in fakes.items():
            if getattr(mod, name, None) is originals[name]:
                setattr(mod, name, fake)
