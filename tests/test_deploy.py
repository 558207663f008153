"""The deployment files: what can be checked without Kubernetes is checked here (the instance config against a
real PostgreSQL; the Helm chart in tests/test_helm_chart.py)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from linksyn_assets.layout import ledger_location
from linksyn_assets.llm.ledger import RequestLedger
from linksyn_assets.storage import scratch_dir

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


@pytest.mark.cluster
def test_the_deployed_instance_queues_runs_with_a_limit_per_discipline(postgres, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", postgres.create_database().replace("postgresql://",
                                                                                  "postgresql+psycopg2://"))
    (tmp_path / "dagster.yaml").write_text((DEPLOY / "dagster.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        launcher = instance.run_launcher  # each run in its own process, its worker checked by run monitoring
        assert type(launcher).__name__ == "WatchedRunLauncher" and launcher.supports_check_run_worker_health
        assert instance.run_monitoring_enabled and instance.run_retries_enabled
        assert instance.run_retries_max_retries == 2 and not instance.run_retries_retry_on_asset_or_op_failure
        coordinator = instance.run_coordinator
        assert type(coordinator).__name__ == "QueuedRunCoordinator"
        config = instance.get_concurrency_config()
        assert config.run_queue_config.max_concurrent_runs == 8
        [limit] = config.run_queue_config.tag_concurrency_limits
        assert limit["key"] == "dagster/partition" and limit["limit"] == 1
        assert limit["value"] == {"applyLimitPerUniqueValue": True}
        assert config.pool_config.default_pool_limit == 2


def test_the_ledger_url_and_scratch_dir_follow_the_environment(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINKSYN_LEDGER_URL", raising=False)
    monkeypatch.delenv("LINKSYN_SCRATCH_DIR", raising=False)
    monkeypatch.setenv("LINKSYN_DATA_DIR", str(tmp_path / "data"))
    assert ledger_location() == str(tmp_path / "data" / "llm_ledger.sqlite")  # one machine: as before
    monkeypatch.setenv("LINKSYN_DATA_DIR", "s3://bucket/prefix")
    assert not str(scratch_dir()).startswith("s3:")  # a SQLite ledger never goes to object storage
    assert ledger_location().endswith("llm_ledger.sqlite") and Path(ledger_location()).is_absolute()
    monkeypatch.setenv("LINKSYN_LEDGER_URL", "postgresql://u:secret@db.example:5432/ledger")
    assert ledger_location() == "postgresql://u:secret@db.example:5432/ledger"
    with pytest.raises(ValueError, match=r"use a postgresql:// URL or a local file path") as err:
        RequestLedger("s3://bucket/ledger.sqlite")
    assert "secret" not in str(err.value)
