"""Run torchvision's own ImageFolder and v1 transforms in a separate process, print JSON.

torchvision comes from ``.test-deps/torchvision`` (``scripts/install-test-deps`` puts it there
with ``pip --target --no-deps``); its compiled-op registration module is replaced by an empty
one, since the registry's CUDA build cannot register its operators beside the CPU torch. It
never enters the test session itself (it would break ``import sentence_transformers``).

    python torchvision_reference.py labels ROOT            # {file name: class index}
    python torchvision_reference.py crops SEED H W N       # N RandomResizedCrop boxes + flips
    python torchvision_reference.py pixels SEED IMAGE OUT  # train/eval transforms → OUT.npz
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np

FOLDER = Path(__file__).resolve().parents[2] / ".test-deps" / "torchvision"
SCALE, RATIO = (0.08, 1.0), (3 / 4, 4 / 3)


def load():
    if not (FOLDER / "torchvision").is_dir():
        raise SystemExit(f"torchvision is not in {FOLDER}: run scripts/install-test-deps")
    sys.path.insert(0, str(FOLDER))
    sys.modules["torchvision._meta_registrations"] = types.ModuleType("_meta_registrations")
    import torchvision

    return torchvision


def main(argv: list[str]) -> None:
    torchvision = load()
    import torch
    from PIL import Image
    from torchvision import transforms

    command = argv[0]
    if command == "labels":
        folder = torchvision.datasets.ImageFolder(argv[1])
        print(json.dumps({"classes": folder.classes,
                          "labels": {Path(p).name: t for p, t in folder.samples}}))
    elif command == "crops":
        seed, height, width, count = (int(a) for a in argv[1:])
        torch.manual_seed(seed)
        image = Image.new("RGB", (width, height))
        flip = transforms.RandomHorizontalFlip()
        out = []
        for _ in range(count):
            box = transforms.RandomResizedCrop.get_params(image, SCALE, RATIO)
            flipped = flip(image) is not image
            out.append([*box, flipped])
        print(json.dumps(out))
    elif command == "pixels":
        seed, image = int(argv[1]), Image.open(argv[2]).convert("RGB")
        train = transforms.Compose([transforms.RandomResizedCrop(224),
                                    transforms.RandomHorizontalFlip(), transforms.PILToTensor()])
        evaluate = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224),
                                       transforms.PILToTensor()])
        torch.manual_seed(seed)
        trained = [train(image).numpy() for _ in range(4)]
        np.savez(argv[3], train=np.stack(trained), eval=evaluate(image).numpy())
        print(json.dumps({"ok": True}))


if __name__ == "__main__":
    main(sys.argv[1:])
