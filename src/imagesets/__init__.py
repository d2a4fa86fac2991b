"""imagesets: one catalog and one API for vision datasets and their annotations."""

from . import (
    ilsvrc2012,  # noqa: F401  (registers the dataset in the catalog)
    laion_fmri,  # noqa: F401  (registers the dataset in the catalog)
    panocaps,  # noqa: F401  (registers the dataset in the catalog)
)
from .api import download, info, list_datasets, load, process, remove
from .errors import (
    ImagesetsError,
    InvalidDataError,
    MissingDependencyError,
    NotFoundError,
    OfflineError,
)

__version__ = "0.1.0"

__all__ = [
    "ImagesetsError",
    "InvalidDataError",
    "MissingDependencyError",
    "NotFoundError",
    "OfflineError",
    "download",
    "info",
    "list_datasets",
    "load",
    "process",
    "remove",
]
