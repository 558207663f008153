"""litellm, imported in one place and set up for long batch runs: the cost map and encodings are the
local copies (nothing is fetched at import), no telemetry, no callbacks, and parameters a provider
rejects are dropped instead of failing the call. Import `litellm` from here."""

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # must be set before litellm is imported

import litellm  # noqa: E402

litellm.suppress_debug_info = True
litellm.telemetry = False
litellm.drop_params = True  # a provider that rejects a parameter (e.g. temperature) gets the call without it
litellm.callbacks = []
litellm.success_callback = []
litellm.failure_callback = []

__all__ = ["litellm"]
