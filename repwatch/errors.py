"""Errors a user can act on. Only ``repwatch.cli`` turns them into exit messages."""


class RepwatchError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class ConfigError(RepwatchError):
    """The configuration file is missing, unreadable or invalid."""


class DatabaseError(RepwatchError):
    """The database cannot be opened or migrated."""


class ModelMissing(RepwatchError):
    """A sentiment model is neither on this machine nor downloadable."""


class ModelInvalid(RepwatchError):
    """A model was found but cannot be used (broken files, unmappable labels)."""


class ConflictError(RepwatchError):
    """Somebody else changed a triage item since it was read."""


class NotFoundError(RepwatchError):
    """A referenced row does not exist."""
