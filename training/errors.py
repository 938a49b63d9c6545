"""The one error type the CLI turns into a single line and a non-zero exit."""


class UsageError(Exception):
    """A problem the user can fix: a bad flag, a missing file, a device that is not there."""
