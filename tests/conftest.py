"""Shared fixtures: the stub LLM server, isolated data dirs, small seed folders."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stub_llm_server import StubServer

SHARED_SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


@pytest.fixture(scope="session")
def stub_server() -> Iterator[StubServer]:
    with StubServer() as server:
        yield server


@pytest.fixture
def stub(stub_server: StubServer) -> StubServer:
    stub_server.reset()
    return stub_server


@pytest.fixture(autouse=True)
def _scratch_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes into the project's ./data (the parsed seed cache goes to the data dir, for example);
    tests that look at the data dir ask for `data_dir`."""
    monkeypatch.setenv("LINKSYN_DATA_DIR", str(tmp_path / "scratch_data"))


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "data"
    monkeypatch.setenv("LINKSYN_DATA_DIR", str(out))
    return out


@pytest.fixture
def shared_seeds() -> Path:
    if not SHARED_SEEDS.is_dir():
        pytest.skip(f"real seed sets not found at {SHARED_SEEDS} (they live in ../shared/seeds)")
    return SHARED_SEEDS


def kp_messages(i: int) -> list[dict[str, str]]:
    """An extraction-shaped request; the stub answers it with the question's long words."""
    question = f"Photosynthesis converts sunlight number{i}"
    return [{"role": "system", "content": "Identify the knowledge points (KPs) a question tests."},
            {"role": "user", "content": f"<seed>\nQuestion: {question}\nAnswer: yes\n</seed>"}]


def write_jsonl(path: Path, rows: list[dict] | list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n")
    return path


def linked_seed_rows() -> list[dict]:
    """Two disciplines whose questions share long words (the stub turns them into KPs)."""
    physics = [
        ("Radioactive isotope decays exponentially; compute remaining fraction after three halflives.", 2),
        ("Radioactive carbon dating uses exponential decay of isotope concentration.", 3),
        ("Capacitor discharge voltage decays exponentially through resistor circuit.", 3),
        ("Momentum conservation during elastic collision between billiard spheres.", 1),
        ("Kinetic energy conservation during elastic collision of spheres.", 2),
        ("Projectile trajectory under gravity: compute horizontal distance travelled.", 2),
    ]
    mathematics = [
        ("Exponential function modelling bacterial population doubling each generation.", 1),
        ("Logarithm solves exponential equation for doubling generation count.", 2),
        ("Probability distribution of binomial coin tosses with biased coin.", 3),
        ("Probability estimate combining binomial distribution and logarithm bounds.", 4),
        ("Geometric series summation with ratio below one converges.", 2),
        ("Geometric sequence terms grow exponentially with ratio above one.", 1),
    ]
    rows = []
    for discipline, items in (("physics", physics), ("mathematics", mathematics)):
        for i, (question, difficulty) in enumerate(items):
            rows.append({"question": question, "options": ["alpha", "beta", "gamma", "delta"],
                         "answer": "ABCD"[i % 4], "explanation": "Worked reasoning.", "discipline": discipline,
                         "subject": discipline, "difficulty": difficulty, "language": "en", "source": "test"})
    return rows


@pytest.fixture
def linked_seeds(tmp_path: Path) -> Path:
    folder = tmp_path / "seeds"
    write_jsonl(folder / "linked.jsonl", linked_seed_rows())
    return folder


@pytest.fixture
def stub_env(stub: StubServer, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> StubServer:
    """Route every LLM stage to the stub through litellm's OpenAI provider."""
    monkeypatch.setenv("LINKSYN_MODEL", "openai/stub-model")
    monkeypatch.setenv("LINKSYN_API_BASE", stub.url)
    monkeypatch.setenv("LINKSYN_TEST_KEY", "sk-test-SECRET-4242")
    monkeypatch.setenv("LINKSYN_API_KEY_ENV", "LINKSYN_TEST_KEY")
    os.environ.pop("LINKSYN_SETTINGS", None)
    return stub


def graph_nodes(data_dir: Path, discipline: str):  # noqa: ANN201 -- a polars DataFrame
    """The nodes of a discipline's kp_graph partition: its view of the corpus graph it refers to."""
    import polars as pl

    from linksyn_assets.kps.corpus_store import read_partition

    ref = pl.read_parquet(data_dir / "assets" / "kp_graph" / discipline / "corpus.parquet")
    return read_partition(ref, discipline).nodes


@pytest.fixture(scope="session")
def postgres() -> Iterator:
    """A real PostgreSQL on 127.0.0.1 for the whole session; tests take a fresh database each."""
    from tests.services import postgres_server

    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def s3() -> Iterator:
    """A real S3 protocol endpoint (moto_server) on 127.0.0.1 for the whole session."""
    from tests.services import s3_server

    with s3_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's request ledger lives: a SQLite file, or a fresh database on the real PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    return request.getfixturevalue("postgres").create_database()
