"""The embedded demo model as a route: where its calls go and every rule that differs from a hosted model's.
Everything else in the LLM layer asks `route.embedded` and never names the model.

- Caps: output caps per stage sized to the largest answer its bounded grammar allows (grammar.py); without the
  bounds it looped to the cap (a third of the extractions in the first timed demo).
- Grammar: the request carries the bounded schema as a llama.cpp grammar, and the request key records it; the
  schema text is left out of the prompt it is sent (the grammar enforces it; the text only cost prompt
  evaluation).
- Retries: a reply cut off at the cap is a loop, which more room only makes longer: no second try with a
  larger cap. It never thinks, so no thinking allowance.
- Price: free (source "local"). Liveness: a request that cannot connect asks the server process why it is gone.
"""

from __future__ import annotations

from typing import Any

from linksyn_assets.llm.embedded.process import ensure_server

EMBEDDED_MODEL_ID = "embedded/SmolLM2-135M-Instruct-Q4_1"
MAX_TOKENS = {"extract": 192, "synthesize": 704, "harden": 704, "judge": 96, "verify": 288}
# The local llama.cpp server checks no key, but the OpenAI wire format wants one: not a secret.
LOCAL_KEY = "sk-no-key-needed"


def embedded_route_fields() -> dict[str, Any]:
    """The fields of the embedded model's ModelRoute (llm/records.py), its server started on first use."""
    return {"model": "openai/smollm2", "cache_identity": EMBEDDED_MODEL_ID, "api_base": ensure_server(),
            "api_key": LOCAL_KEY, "structured_output": "json_object", "embedded": True}
