"""The public API names stay the functions they are, whatever submodules get imported later."""

from __future__ import annotations

import importlib
import pkgutil

import imagesets


def test_api_functions_are_not_shadowed_by_submodules():
    for module in pkgutil.walk_packages(imagesets.__path__, "imagesets."):
        importlib.import_module(module.name)
    for name in ("load", "process", "remove", "download", "list_datasets", "info"):
        assert callable(getattr(imagesets, name)), name
        assert getattr(imagesets, name).__module__ == "imagesets.api", name
