"""Training data: the built-in real data sets, or a user's ``py:module:function`` loaders."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError


@dataclass
class Data:
    name: str
    train: object  # a torch DataLoader (or any re-iterable of (x, y) batches)
    test: object
    train_size: int | None


def loaders(spec: str, batch: int, workers: int = 0, seed: int = 0) -> Data:
    """``digits`` (scikit-learn's, fixed split) or ``py:module:function`` returning
    ``(train_loader, test_loader)``; ``batch`` and ``workers`` apply to the built-in ones."""
    import torch

    if not isinstance(batch, int) or batch < 1:
        raise InputError(f"--batch must be a whole number ≥ 1, got {batch}")
    if not isinstance(workers, int) or workers < 0:
        raise InputError(f"--workers must be a whole number ≥ 0, got {workers}")
    if spec.startswith("py:"):
        from ..workloads.sources import import_function

        _, fn = import_function(spec[3:], "--data")
        try:
            got = fn()
        except Exception as e:
            raise InputError(f"--data {spec} raised {type(e).__name__}: {e}") from None
        if not (isinstance(got, tuple) and len(got) == 2):
            raise InputError(f"--data {spec} must return (train_loader, test_loader), got {type(got).__name__}")
        train, test = got
        size = len(train.dataset) if hasattr(train, "dataset") else None
        return Data(spec, train, test, size)
    from ..workloads import datasets

    split = datasets.get(spec)
    tr = torch.utils.data.TensorDataset(torch.from_numpy(split.x_train), torch.from_numpy(split.y_train))
    te = torch.utils.data.TensorDataset(torch.from_numpy(split.x_test), torch.from_numpy(split.y_test))
    g = torch.Generator().manual_seed(seed)
    train = torch.utils.data.DataLoader(
        tr,
        batch_size=batch,
        shuffle=True,
        generator=g,
        num_workers=workers,
        drop_last=True,
        persistent_workers=workers > 0,
    )
    test = torch.utils.data.DataLoader(te, batch_size=256)
    return Data(spec, train, test, len(tr))


def batches_forever(loader):
    """Batches without end: a new pass over the loader whenever one ends."""
    while True:
        yielded = False
        for b in loader:
            yielded = True
            yield b
        if not yielded:
            raise InputError("the training loader yielded no batches; check --data and --batch")
