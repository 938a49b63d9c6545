"""The errors the CLI turns into a single line and a non-zero exit, instead of a traceback."""


class UsageError(Exception):
    """A problem the user can fix: a bad flag, a missing file, a device that is not there."""


class OutputError(Exception):
    """A file the run could not write (read-only folder, full disk); what was there before is left as it was."""
