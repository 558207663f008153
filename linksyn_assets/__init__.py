"""LinkSyn: knowledge-dense QA synthesis (the LinkQA method) as partitioned Dagster assets.

Plain modules (readers, canonicalization, graph, walks, prompts, QC) import no Dagster code;
the Dagster wiring lives in linksyn_assets.assets.
"""
