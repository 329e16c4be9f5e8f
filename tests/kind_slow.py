"""A kind used only by the engine tests (registered through OPPFLOW_KIND_PLUGINS like any plug-in):
opens a substate after sleeping config["seconds"], so a test can kill the worker mid-run."""

import time

from engine.kinds._substate import SubstateKind


class SlowOpen(SubstateKind):
    key = "slow_open"
    label = "Slow open (tests)"
    effect = "open"
    # Slow, so its claim is committed first and the run shows "running" while it sleeps (tests/kind_slow_db.py
    # is the same kind claimed with its first write: claimed, run and recorded in one transaction).
    claim_with_first_write = False

    def execute(self, run) -> dict:
        time.sleep(float(run.config.get("seconds", 2)))
        return self.change_substate(run, "open")


KIND = SlowOpen()
