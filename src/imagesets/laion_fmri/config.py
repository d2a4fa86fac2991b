"""Where the LAION-fMRI files are: ``data_dir=``, ``$LAION_FMRI_DATA_DIR``, the imagesets
catalog, then the original ``laion_fmri`` package's config file, in that order.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..catalog import Registry
from ..errors import NotFoundError
from ..fsutil import atomic_write_text
from .exceptions import DataDirNotSetError

NAME = "laion_fmri"
ENV_VAR = "LAION_FMRI_DATA_DIR"


def config_file() -> Path:
    """The original package's config file: ``$XDG_CONFIG_HOME/laion_fmri/config.json``."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(base) / "laion_fmri" / "config.json"


def dataset_initialize(path: str | os.PathLike) -> None:
    """Remember ``path`` as the data directory (in the catalog and the original config file)."""
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise NotFoundError(f"data directory {folder} does not exist; create it first "
                            f"(mkdir -p '{folder}') or pass an existing folder")
    (folder / ".laion_fmri").mkdir(exist_ok=True)
    Registry().set_data_dir(NAME, folder)
    atomic_write_text(config_file(), json.dumps({"data_dir": str(folder)}, indent=2))


set_data_dir = dataset_initialize


def _from_config_file() -> str | None:
    try:
        return json.loads(config_file().read_text(encoding="utf-8")).get("data_dir")
    except (FileNotFoundError, ValueError, AttributeError):
        return None


def get_data_dir() -> str:
    """The configured data directory, or a DataDirNotSetError naming every place looked at."""
    for found in (os.environ.get(ENV_VAR), Registry().data_dir(NAME), _from_config_file()):
        if found:
            return str(Path(found).expanduser())
    raise DataDirNotSetError(
        f"no LAION-fMRI data directory is configured. Pass data_dir=..., or set one of: "
        f"${ENV_VAR}; the imagesets catalog (`imagesets download laion_fmri --data-dir DIR` or "
        f"laion_fmri.set_data_dir(DIR)); the laion_fmri config file {config_file()} "
        f"(laion_fmri.config.dataset_initialize(DIR))")


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """``data_dir`` if given, else the configured one, as an absolute path."""
    return Path(data_dir if data_dir is not None else get_data_dir()).expanduser().resolve()
