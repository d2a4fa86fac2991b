"""One exception hierarchy: every message says what went wrong, where, and how to fix it."""

from __future__ import annotations


class ImagesetsError(Exception):
    """Base class of every error imagesets raises on purpose."""


class NotFoundError(ImagesetsError, KeyError):
    """A dataset, task, set, field, file or record that was asked for does not exist."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class OutOfRangeError(ImagesetsError, IndexError):
    """An index outside a split, field or list; the message gives the valid range."""


class InvalidDataError(ImagesetsError, ValueError):
    """Input files exist but do not have the expected content or layout."""


class MissingDependencyError(ImagesetsError, ImportError):
    """An optional dependency needed by this feature is not installed."""


class OfflineError(ImagesetsError, ConnectionError):
    """A download was needed but the network is unavailable or offline mode is on."""


def require(module: str, extra: str, feature: str):
    """Import an optional dependency, or raise an error telling which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{feature} needs the optional package '{module.split('.')[0]}', which is not "
            f"installed. Install it with: pip install 'imagesets[{extra}]'"
        ) from exc
