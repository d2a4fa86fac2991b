"""The original ``laion_fmri`` package's exception classes, with the same bases.

Code written for ``laion_fmri`` catches these (or their standard bases) and must keep working
after the import swap; each is also an :class:`~imagesets.errors.ImagesetsError`, so imagesets'
own CLI prints them as one line.
"""

from __future__ import annotations

from ..errors import ImagesetsError


class DataDirNotSetError(ImagesetsError):
    """No data directory was given, set with ``dataset_initialize``, or found in the config."""


class DataNotFoundError(ImagesetsError, FileNotFoundError):
    """A data file that was asked for does not exist."""


class DataNotDownloadedError(DataNotFoundError):
    """The file belongs to the release but was not downloaded into the data directory."""


class NoMatchingDataError(DataNotFoundError):
    """A query (subject, session, ROI, ...) matched no file."""


class SubjectNotFoundError(ImagesetsError, ValueError):
    """A subject id that is not part of the release."""


class StimuliNotDownloadedError(ImagesetsError, FileNotFoundError):
    """The gated stimulus images were not downloaded."""


class LicenseNotAcceptedError(ImagesetsError, RuntimeError):
    """The data's license was not accepted."""


__all__ = ["DataDirNotSetError", "DataNotDownloadedError", "DataNotFoundError",
           "LicenseNotAcceptedError", "NoMatchingDataError", "StimuliNotDownloadedError",
           "SubjectNotFoundError"]
