"""A subject's trials as a ``torch.utils.data.Dataset``: per item the betas (one trial read
from the betas store), optionally the stimulus embedding and the decoded image."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidDataError, require

if TYPE_CHECKING:
    from .subject import Subject

FEATURE = "the LAION-fMRI PyTorch dataset"


def _torch() -> Any:
    return require("torch", "torch", FEATURE)


class SubjectTrialsDataset:
    """Map-style dataset over trials (global indices, default: every trial of the sessions
    with betas). Item: ``{"betas", "image_name", "session", "trial"}`` plus ``"embedding"``
    when ``model`` is given and ``"image"`` (``transform(PIL image)``, default a uint8 CHW
    tensor) when ``images=True``. Works with ``DataLoader`` workers (the store is reopened per
    process)."""

    def __init__(self, subject: Subject, trials: Sequence[int] | np.ndarray | None = None, *,
                 roi: Any = None, mask: np.ndarray | None = None, model: str | None = None,
                 images: bool = False, transform: Callable[[Any], Any] | None = None,
                 mask_source: str = "anatomical") -> None:
        self.torch = _torch()
        self.subject = subject
        meta = subject.metadata
        if trials is None:
            trials = subject.trial_indices(subject.betas_sessions())
        self.trials = np.asarray(trials, np.intp)
        if self.trials.ndim != 1:
            raise InvalidDataError("trials must be a 1-D list of global trial indices")
        subject.image_names(self.trials)
        sessions = meta["session"].to_numpy(object)[self.trials]
        subject.prepare_betas(list(dict.fromkeys(sessions)), mask_source=mask_source,
                              verbose=False)
        self.roi, self.mask, self.mask_source = roi, mask, mask_source
        self.model = model
        self.images = images
        self.transform = transform
        self._sessions = meta["session"].to_numpy(object)
        self._names = meta["image_name"].to_numpy(object)

    def __len__(self) -> int:
        return len(self.trials)

    def _image(self, trial: int) -> Any:
        image = self.subject.images.get(trial)
        if self.transform is not None:
            return self.transform(image)
        return self.torch.from_numpy(np.asarray(image.convert("RGB")).transpose(2, 0, 1).copy())

    def __getitem__(self, position: int) -> dict[str, Any]:
        if not -len(self) <= position < len(self):
            raise IndexError(f"index {position} is out of range for {len(self)} trials")
        trial = int(self.trials[position])
        item: dict[str, Any] = {
            "betas": self.torch.from_numpy(self.subject.betas(
                trial, roi=self.roi, mask=self.mask, mask_source=self.mask_source)),
            "image_name": str(self._names[trial]), "session": str(self._sessions[trial]),
            "trial": trial}
        if self.model is not None:
            vector = np.asarray(self.subject.embeddings.get(self.model, trial), np.float32)
            item["embedding"] = self.torch.from_numpy(vector)
        if self.images:
            item["image"] = self._image(trial)
        return item
