"""tests/kind_slow.py's kind with the engine's one-transaction path (Kind.one_transaction), as the built-in
database-only kinds run: claim, effect and outcome commit together, so a test can kill the worker mid-run."""

from tests.kind_slow import SlowOpen


class SlowOpenOneTransaction(SlowOpen):
    key = "slow_open_db"
    label = "Slow open in one transaction (tests)"
    one_transaction = True


KIND = SlowOpenOneTransaction()
