"""User-facing errors: each carries one clear line naming the problem (and the file, if any)."""


class MixNMatchError(Exception):
    """Base class: a problem the user can fix. ``str(err)`` is one line, no traceback needed."""


class ModelFileError(MixNMatchError):
    """A model or checkpoint file is missing, corrupt, of the wrong kind or mismatched."""


class ImageError(MixNMatchError):
    """A reference image cannot be read or is unsafe to decode."""


class DataError(MixNMatchError):
    """A dataset folder is invalid (missing files, bad boxes, ...)."""


class ConfigError(MixNMatchError, ValueError):
    """A configuration value has the wrong type or is out of range."""
