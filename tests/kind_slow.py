"""A kind used only by the engine tests (registered through OPPFLOW_KIND_PLUGINS like any plug-in):
opens a substate after sleeping config["seconds"], so a test can kill the worker mid-run."""

import time

from engine.kinds._substate import SubstateKind


class SlowOpen(SubstateKind):
    key = "slow_open"
    label = "Slow open (tests)"
    effect = "open"

    def execute(self, run) -> dict:
        time.sleep(float(run.config.get("seconds", 2)))
        return self.change_substate(run, "open")


KIND = SlowOpen()
