"""Errors that end a run with exit code 2 and one line for the user."""


class InputError(Exception):
    """A file or option the user gave cannot be used.

    The message is shown as one line: which file, what is wrong, what to do.
    """


class CatalogueError(Exception):
    """The rule catalogue is inconsistent (a packaging or development bug)."""
