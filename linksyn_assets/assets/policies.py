"""How LLM steps share a provider and recover: one `llm` pool (its limit is the instance's
`concurrency.pools.default_limit` or a per-pool limit, see deploy/dagster.local.yaml) and a retry policy for
transient failures of a whole step. A retried step pays nothing twice: the request ledger answers every
request that was already answered. Failures that a retry cannot fix (budget, mostly failed requests,
configuration) are raised with allow_retries=False."""

import dagster as dg

# Every asset downstream of `seeds` runs when its inputs change, and only once all of them exist, none is being
# materialized and their blocking checks passed (a failed one keeps the LLM steps after it from being requested).
# `seeds` itself is fed by the sensor or the schedule.
AUTOMATED = dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
# kp_graph and the release read every discipline's partition of their input. Eager alone would request them as
# soon as one input partition changed, while another is itself out of date (its own inputs changed after it)
# and about to be refreshed in a separate run: wait until every input partition is current, so they are built
# once, from a complete and current set.
_OUT_OF_DATE = dg.AutomationCondition.any_deps_updated().since(
    dg.AutomationCondition.newly_updated() | dg.AutomationCondition.newly_requested())
ACROSS_DISCIPLINES = AUTOMATED & ~dg.AutomationCondition.any_deps_match(_OUT_OF_DATE)
# kp_graph: the same, except that an input partition whose last attempt failed (a discipline held back by its
# seeds' blocking check, or a failed extraction) is settled, not pending: the graph goes on without it
# (assets/graph.py leaves it out and names it).
_SETTLED = dg.AutomationCondition.execution_failed()
_PENDING = ~_SETTLED & (dg.AutomationCondition.missing() | _OUT_OF_DATE)  # an input that may still come
GRAPH_INPUTS = (dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())
                & dg.AutomationCondition.all_deps_blocking_checks_passed()
                & ~dg.AutomationCondition.any_deps_match(_PENDING))
# linkqa_release: likewise for a discipline whose dataset will not come because a step before it failed (e.g. the
# kp_graph of a held-back discipline, and the steps planned after it in that run)
_DATASET_SETTLED = _SETTLED | dg.AutomationCondition.any_deps_match(_SETTLED)
RELEASE_INPUTS = (dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())
                  & dg.AutomationCondition.all_deps_blocking_checks_passed()
                  & ~dg.AutomationCondition.any_deps_match(~_DATASET_SETTLED
                                                           & (dg.AutomationCondition.missing() | _OUT_OF_DATE)))
# synthesized_qa reads every discipline's seeds only to look up the texts of its paths' seeds; a change of seeds
# reaches it through seed_kps -> kp_graph -> walk_paths, so a seeds update alone must not trigger it early.
AFTER_WALKS = AUTOMATED.ignore(dg.AssetSelection.assets("seeds"))

LLM_POOL = "llm"
LLM_RETRY = dg.RetryPolicy(max_retries=2, delay=20, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
LLM_STEP = {"pool": LLM_POOL, "retry_policy": LLM_RETRY}
