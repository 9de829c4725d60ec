"""Errors raised on malformed input."""


class InvalidVersion(ValueError):
    """The text is not a semantic version."""


class InvalidRange(ValueError):
    """The text is not a version range."""
