"""tests/kind_slow.py's kind claimed with its first write (Kind.claim_with_first_write), as the built-in
database-only kinds run: claim, effect and outcome commit together, so a test can kill the worker mid-run."""

from tests.kind_slow import SlowOpen


class SlowOpenOneTransaction(SlowOpen):
    key = "slow_open_db"
    label = "Slow open in one transaction (tests)"
    claim_with_first_write = True


KIND = SlowOpenOneTransaction()
