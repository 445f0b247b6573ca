"""The one exception type the engine raises for bad input.

A :class:`FathomInputError` carries one sentence that names the problem and the fix; the CLI
prints it as one line and exits non-zero, the GUI shows it in a message bar. Programming errors
stay ordinary exceptions (and tracebacks in the log).
"""


class FathomInputError(ValueError):
    """Bad input from a user: a file, a geometry, a parameter. The message says what to do."""
