"""Services: the mutations and queries that routes, jobs and the API share."""


class ServiceError(Exception):
    """A refusal the user can act on; the message is already translated."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
