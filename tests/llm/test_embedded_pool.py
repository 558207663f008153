"""How many model instances the embedded server runs, and how many threads each."""

import pytest

from linksyn_assets.llm.embedded.process import ENV_INSTANCES, MAX_INSTANCES, pool_shape


def test_one_single_thread_instance_per_core_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_INSTANCES, raising=False)
    assert pool_shape(1) == (1, 1)
    assert pool_shape(2) == (2, 1)
    assert pool_shape(16) == (MAX_INSTANCES, 16 // MAX_INSTANCES)  # spare cores go to the instances' threads


def test_the_instance_count_can_be_set_and_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_INSTANCES, "1")
    assert pool_shape(2) == (1, 2)
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(ENV_INSTANCES, bad)
        with pytest.raises(ValueError, match=ENV_INSTANCES):
            pool_shape(2)
