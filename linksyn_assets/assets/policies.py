"""How LLM steps share a provider and recover: one `llm` pool (its limit is the instance's
`concurrency.pools.default_limit` or a per-pool limit, see deploy/dagster.yaml) and a retry policy for
transient failures of a whole step. A retried step pays nothing twice: the request ledger answers every
request that was already answered. Failures that a retry cannot fix (budget, mostly failed requests,
configuration) are raised with allow_retries=False."""

import dagster as dg

# Every asset downstream of `seeds` runs when its inputs change, and only once all of them exist and none is
# being materialized: kp_graph and the release read every discipline, so they wait for every discipline's
# seed_kps / dataset, never building on a partial set. `seeds` itself is fed by the sensor or the schedule.
AUTOMATED = dg.AutomationCondition.eager()

LLM_POOL = "llm"
LLM_RETRY = dg.RetryPolicy(max_retries=2, delay=20, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
LLM_STEP = {"pool": LLM_POOL, "retry_policy": LLM_RETRY}
