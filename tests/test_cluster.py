"""Beyond one machine: workers in separate processes sharing one PostgreSQL ledger, one budget and an S3 data
dir (real PostgreSQL and a real S3 protocol endpoint on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from linksyn_assets.llm.ledger import RequestLedger
from linksyn_assets.llm.ledger.schema import VERSION, LedgerSchemaError
from linksyn_assets.storage import as_path, read_parquet
from tests.cluster_worker import write_requests
from tests.stub_llm_server import Faults, StubServer

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.cluster


def _worker(spec: dict, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.cluster_worker", json.dumps(spec)], cwd=ROOT,
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _s3_data_dir(s3, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: ANN001 -- tests.services.S3
    """A fresh bucket on the S3 endpoint, with this process pointed at it (workers inherit the environment)."""
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    return f"s3://{s3.create_bucket()}/linksyn"


def _sent(stub: StubServer) -> Counter:
    return Counter(hashlib.sha256(json.dumps(b["messages"], sort_keys=True).encode()).hexdigest()
                   for b in stub.state.requests)


def test_a_lease_of_another_host_expires_by_time(ledger_url: str) -> None:
    holder = RequestLedger(ledger_url, lease_s=1.0)
    holder.owner = "other-host:1:1"  # a worker on another machine: its process cannot be checked from here
    other = RequestLedger(ledger_url, lease_s=1.0)
    items = [(f"k{i}", "extract", "m", "v1") for i in range(5)]
    assert {c.action for c in holder.claim(items).values()} == {"send"}
    assert {c.action for c in other.claim(items).values()} == {"wait"}  # live lease elsewhere: single flight
    time.sleep(1.2)
    assert {c.action for c in other.claim(items).values()} == {"send"}  # expired: taken over
    other.record([(f"k{i}", "DONE", {"i": i}, None, True, 1) for i in range(5)])
    claims = holder.claim(items)
    assert [c.payload for c in claims.values()] == [{"i": i} for i in range(5)]  # the answer is reused


def test_a_ledger_from_a_newer_linksyn_is_refused(ledger_url: str) -> None:
    ledger = RequestLedger(ledger_url)
    ledger._db.tx(lambda db: ledger._db.execute(db, "UPDATE linksyn_schema SET version = ?", (VERSION + 1,)))
    ledger.close()
    with pytest.raises(LedgerSchemaError, match=f"schema version {VERSION + 1} was written by a newer LinkSyn"):
        RequestLedger(ledger_url)


def test_a_killed_worker_is_taken_over_and_nothing_is_paid_twice(stub: StubServer, postgres, s3,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    stub.reset(Faults(latency_s=0.1))
    data = _s3_data_dir(s3, monkeypatch)
    n, concurrency = 150, 6
    write_requests(data, "physics", n)
    ledger = postgres.create_database()
    spec = {"ledger": ledger, "api_base": stub.url, "data_dir": data, "disciplines": ["physics"],
            "concurrency": concurrency, "lease_s": 3.0}
    # worker a looks like another machine (so only its lease time frees its requests); b works the same batch
    a = _worker({**spec, "name": "a"}, {"LINKSYN_WORKER_NAME": "worker-a"})
    deadline = time.monotonic() + 120
    while stub.count < 30 and time.monotonic() < deadline:
        time.sleep(0.02)
    b = _worker({**spec, "name": "b"})
    while stub.count < 60 and time.monotonic() < deadline:
        time.sleep(0.02)
    a.send_signal(signal.SIGKILL)
    a.wait()
    out, err = b.communicate(timeout=300)
    assert b.returncode == 0, err[-2000:]
    assert stub.count < 2 * n  # b did not simply repeat everything
    sent = _sent(stub)
    assert len(sent) == n  # every request answered ...
    assert sum(k - 1 for k in sent.values()) <= concurrency  # ... at most a's in-flight ones twice
    assert RequestLedger(ledger).counts() == {"DONE": n}
    # the ledger never counts fewer sends than the server saw: a's calls in flight when it died count too
    # (at most one per sender more: counted, then killed before the call went out)
    assert stub.count <= RequestLedger(ledger).sends_total() <= stub.count + concurrency
    taken_over = read_parquet(as_path(data) / "answers" / "physics.b.parquet")
    assert taken_over.height == n and taken_over["answer"].null_count() == 0
    # the same answers as one uninterrupted worker on a fresh ledger
    stub.reset()
    clean = _worker({**spec, "name": "clean", "ledger": postgres.create_database()})
    assert clean.wait(timeout=300) == 0
    assert taken_over.equals(read_parquet(as_path(data) / "answers" / "physics.clean.parquet"))


def test_two_workers_on_one_budget_never_spend_more_than_it_together(stub: StubServer, postgres, s3,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    stub.reset(Faults(latency_s=0.05))
    data = _s3_data_dir(s3, monkeypatch)
    for discipline in ("physics", "chemistry"):
        write_requests(data, discipline, 200)
    ledger = postgres.create_database()
    limit = 0.01
    spec = {"ledger": ledger, "api_base": stub.url, "data_dir": data, "concurrency": 8, "budget_usd": limit,
            "budget_scope": "total:project", "max_tokens": 200, "barrier": str(tmp_path)}
    workers = [_worker({**spec, "disciplines": [d], "name": d}) for d in ("physics", "chemistry")]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready.*"))) < 2 and time.monotonic() < deadline:  # both start together
        time.sleep(0.05)
    (tmp_path / "go").touch()
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 3, err[-2000:]  # each stopped on the shared budget ...
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert all("shared budget" in r["stopped"] for r in reports)
    assert all(r["ok"] > 0 for r in reports)  # ... after both did work
    spent_usd, _, held_usd, held_tokens = RequestLedger(ledger).budget_totals("total:project")
    paid = sum(r["cost_usd"] for r in reports)  # from each reply's usage, counted by the workers themselves
    assert paid == pytest.approx(spent_usd) and paid <= limit
    # a refused hold waits for calls in flight instead of stopping at once: most of the budget gets used
    assert spent_usd > 0.5 * limit
    assert held_tokens == 0 and held_usd == pytest.approx(0.0, abs=1e-12)  # every hold settled
    answers = [read_parquet(as_path(data) / "answers" / f"{d}.{d}.parquet") for d in ("physics", "chemistry")]
    assert sum(a["answer"].drop_nulls().len() for a in answers) == sum(r["ok"] for r in reports)


def test_chinese_answers_round_trip_through_the_ledger_unchanged(ledger_url: str) -> None:
    ledger = RequestLedger(ledger_url)
    payloads = {"zh": {"data": {"knowledge_points": [{"name": "光合作用", "name_en": "photosynthesis"}]},
                       "reasoning": "先分析「能量守恒」，再求解。"},
                "en": {"data": {"knowledge_points": [{"name": "photosynthesis"}]}, "reasoning": "energy first"}}
    items = [(key, "extract", "m", "v1") for key in payloads]
    ledger.claim(items)
    ledger.record([(key, "DONE", payload, None, True, 1) for key, payload in payloads.items()])
    again = RequestLedger(ledger_url).claim(items)  # another process reads them back
    assert {key: claim.payload for key, claim in again.items()} == payloads


def test_tables_and_text_on_s3_keep_chinese_and_english_intact(s3, monkeypatch: pytest.MonkeyPatch) -> None:
    from linksyn_assets.storage import read_if_present, write_parquet_atomic, write_text_atomic

    root = as_path(_s3_data_dir(s3, monkeypatch))
    frame = pl.DataFrame({"question": ["什么是熵？", "What is entropy?"], "options": [["甲", "乙"], ["a", "b"]]})
    write_parquet_atomic(frame, root / "assets" / "seeds" / "physics.parquet")
    assert read_parquet(root / "assets" / "seeds" / "physics.parquet").equals(frame)
    assert read_if_present(root / "assets" / "seeds" / "missing.parquet") is None
    write_text_atomic(root / "settings.json", '{"note": "中文设置 / English"}')
    assert (root / "settings.json").read_text(encoding="utf-8") == '{"note": "中文设置 / English"}'


def test_large_objects_stream_up_in_parts_and_a_failed_upload_publishes_nothing(
        s3, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 31: an upload is multipart (the part size is all it holds), a read streams to a local copy, and an
    upload that fails half-way leaves the previous object as it was."""
    import numpy as np

    from linksyn_assets import storage
    from linksyn_assets.storage import scan_parquet, write_parquet_atomic

    monkeypatch.setattr(storage, "UPLOAD_PART_BYTES", 5 * 2**20)  # S3's smallest part
    root = as_path(_s3_data_dir(s3, monkeypatch))
    rng = np.random.default_rng(7)
    noise = [rng.bytes(6_000).hex() for _ in range(2_500)]  # 30 MB of hex: about 15 MB in zstd
    big = pl.DataFrame({"record_id": [f"r{i}" for i in range(len(noise))], "text": noise,
                        "question": ["什么是熵？" if i % 2 else "What is entropy?" for i in range(len(noise))]})
    target = root / "dataset" / "physics" / "g001-00000.parquet"
    original = pl.DataFrame({"record_id": ["old"], "text": ["kept"], "question": ["旧"]})
    write_parquet_atomic(original, target)
    parts = []
    real_open = target.fs.open

    def counting_open(path, mode="rb", **kw):  # noqa: ANN001, ANN202 -- fsspec's signature
        handle = real_open(path, mode, **kw)
        if "w" in mode:
            parts.append(handle)
        return handle

    monkeypatch.setattr(target.fs, "open", counting_open)
    real_copy = storage.shutil.copyfileobj

    def copy_then_fail(src, dst, length=0):  # noqa: ANN001, ANN202
        dst.write(src.read(length))  # one part on its way, then the writer dies
        raise OSError("connection reset mid-upload")

    monkeypatch.setattr(storage.shutil, "copyfileobj", copy_then_fail)
    with pytest.raises(OSError, match="mid-upload"):
        write_parquet_atomic(big, target)
    monkeypatch.setattr(storage.shutil, "copyfileobj", real_copy)
    assert read_parquet(target).equals(original)  # the failed upload published nothing
    write_parquet_atomic(big, target)
    assert parts[-1].blocksize == 5 * 2**20 and len(parts[-1].parts or []) >= 2  # sent as a multipart upload
    assert read_parquet(target).equals(big)
    chinese = scan_parquet(target).filter(pl.col("question") == "什么是熵？").select("record_id").collect()
    assert chinese.height == len(noise) // 2
