"""The no-op RQ job: the ceiling our runs are measured against."""


def noop() -> None:
    return None
