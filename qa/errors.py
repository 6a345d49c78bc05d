"""Errors the library raises for bad input or a missing/unusable index.

The CLI and the app turn these into one clear message; anything else is a bug.
"""


class QAError(Exception):
    """Base class of every error the library reports to a user."""


class InvalidQuestionError(QAError):
    """The question is empty, too long or not text."""


class CorpusError(QAError):
    """A document or corpus path cannot be read."""


class IndexUnavailableError(QAError):
    """The index is missing, corrupt or was built with other settings."""


class ModelError(QAError):
    """The embedding model or reader model cannot be loaded."""
