"""A kind used only by the engine tests: raises a transient error until the run's attempt number
reaches config["succeed_at"] (0: never), then opens its substate."""

from engine.errors import TransientError
from engine.kinds._substate import SubstateKind


class FlakyOpen(SubstateKind):
    key = "flaky_open"
    label = "Flaky open (tests)"
    effect = "open"

    def execute(self, run) -> dict:
        succeed_at = int(run.config.get("succeed_at", 0))
        if not succeed_at or run.attempts < succeed_at:
            raise TransientError(f"SMTP server not reachable (attempt {run.attempts})")
        return self.change_substate(run, "open")


KIND = FlakyOpen()
