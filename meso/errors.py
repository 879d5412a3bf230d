"""The one exception type for bad user input: the CLI turns it into a one-line error and exit code 2."""


class InputError(ValueError):
    """Bad input from the user (file, parameter or volume); the message is one line and names it."""

    def __init__(self, source: object, problem: str):
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")
