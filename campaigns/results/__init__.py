"""What campaigns did and spent, read from the books (layer 4, beside billing and the rewards
API; README "Layout"): the daily results rollup (`rollup`), the results and dashboard reads
(`selectors`) and the budget and monthly-limit alerts (`alerts`). They read the ledger, the
spend counters, the grants and the claims, so they sit above the rest of `campaigns`."""
