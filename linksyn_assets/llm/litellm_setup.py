"""litellm, imported in one place, on first use, and set up for long batch runs: the cost map and encodings are
the local copies (nothing is fetched at import), no telemetry, no callbacks, and parameters a provider rejects
are dropped instead of failing the call. Get the module from `litellm()`.

Importing litellm takes about 4.5 s on a 2-core machine, most of a step process's start-up: processes that make
no LLM call (the graph, the walks, the release, a step that reuses its stored table) never pay it."""

import os
from functools import cache
from types import ModuleType


@cache
def litellm() -> ModuleType:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # must be set before litellm is imported
    import litellm as module

    module.suppress_debug_info = True
    module.telemetry = False
    module.drop_params = True  # a provider that rejects a parameter (e.g. temperature) gets the call without it
    module.callbacks = []
    module.success_callback = []
    module.failure_callback = []
    return module
