"""How an action kind tells the engine what went wrong (SPEC E8)."""


class TransientError(Exception):
    """Worth retrying later (server down, timeout): retried with exponential backoff."""


class PermanentError(Exception):
    """Retrying cannot help (wrong password, missing address): the run fails at once."""


class Skip(Exception):
    """Nothing to do, for a reason worth showing (e.g. the substate is already open)."""


class NeedsReview(Exception):
    """A person must decide (e.g. no working day to schedule in): the run stops as `needs_review` with the
    reason code given (models.runs.REASONS words it)."""
