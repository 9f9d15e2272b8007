"""User-facing errors: bad configuration, missing data, bad input arrays."""


class GeomexpError(Exception):
    """An error caused by the user's input, shown as one clear line (no traceback)."""


class ConfigError(GeomexpError, ValueError):
    """A configuration value is wrong; the message names the value and what is allowed."""


class DataNotFoundError(GeomexpError, FileNotFoundError):
    """A corpus, data root or cached file is missing; the message says how to get it."""


class ModelUnavailableError(GeomexpError, OSError):
    """A model cannot be loaded (e.g. a hub id without network)."""


class PackageFileMissingError(ModelUnavailableError, FileNotFoundError):
    """A file that an installed package should carry (offline model weights, tokenizer) is missing."""
