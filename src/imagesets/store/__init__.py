"""HDF5 metadata store: the writer every builder uses and the generic loader that reads it back."""

from .ascii import ascii_to_strings, strings_to_ascii
from .loader import FieldView, MetadataLoader, SetView
from .writer import stored_format_version, write_metadata

__all__ = [
    "FieldView",
    "MetadataLoader",
    "SetView",
    "ascii_to_strings",
    "stored_format_version",
    "strings_to_ascii",
    "write_metadata",
]
