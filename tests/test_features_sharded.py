"""Gene features encoded by 2 gloo processes (torchrun's environment) against one process.

The end-to-end case starts two processes of this module (``python -m
tests.test_features_sharded OUT``) that each run ``grape features compute`` (text with the
offline all-MiniLM-L6-v2, then k-mers) on the fixture KG of the session's Neo4j, recording
how many genes their encoder saw and every embedding-cache write; the vectors in Neo4j are
then compared with a single-process run of the same command.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from grapekg.model.features import shards
from grapekg.model.features.cache import EmbeddingCache, text_key

REPO = Path(__file__).resolve().parents[1]
WORLD = 2
TEXT_TOL = 1e-5  # float32: the same texts encoded in batches of other sizes (other padding)


# ------------------------------------------------------------------ the split and the cache
@pytest.mark.parametrize("n,chunk,world", [(7, 2, 3), (8, 512, 2), (1, 4, 2), (0, 3, 2), (9, 3, 1)])
def test_rounds_cover_every_gene_once_in_order(n, chunk, world):
    todo = [f"g{i}" for i in range(n)]
    per_rank = [list(shards.rounds(todo, chunk, world, r)) for r in range(world)]
    assert len({len(p) for p in per_rank}) == 1  # every rank takes as many rounds
    joined = []
    for k in range(len(per_rank[0])):
        block = per_rank[0][k][0]
        assert len(block) <= chunk * world
        parts = [per_rank[r][k][1] for r in range(world)]
        assert [g for p in parts for g in p] == block
        joined += block
    assert joined == todo


def test_rounds_split_as_computed_by_hand():
    todo = list("abcdefg")
    assert [p for _, p in shards.rounds(todo, 2, 3, 0)] == [["a", "b"], ["g"]]
    assert [p for _, p in shards.rounds(todo, 2, 3, 1)] == [["c", "d"], []]
    assert [p for _, p in shards.rounds(todo, 2, 3, 2)] == [["e", "f"], []]
    # one process: pages of `chunk`, all its own
    assert [p for _, p in shards.rounds(todo, 3, 1, 0)] == [["a", "b", "c"], ["d", "e", "f"], ["g"]]


def test_one_process_collectives_are_identities():
    assert shards.gather_to_rank0({"x": 1}) == [{"x": 1}]
    assert shards.object_from_rank0([1, 2]) == [1, 2]


def test_deferred_cache_writes_nothing_until_the_writer_puts_the_rows(tmp_path):
    vec = np.arange(6, dtype=np.float32).reshape(3, 2)
    deferred = EmbeddingCache(tmp_path, "m", deferred=True)
    deferred.put(["a", "b", "a"], vec)
    assert not list(deferred.dir.glob("shard-*"))
    keys, rows = deferred.take_pending()
    assert keys == [text_key("a"), text_key("b"), text_key("a")]
    np.testing.assert_array_equal(rows, vec)
    assert deferred.take_pending()[0] == []  # handed over once
    writer = EmbeddingCache(tmp_path, "m")
    writer.put_keyed(keys, rows)
    writer.put_keyed(keys[:1], rows[:1])  # nothing new: no second shard
    assert len(list(writer.dir.glob("shard-*.parquet"))) == 1
    got, missing = EmbeddingCache(tmp_path, "m").get(["b", "a", "c"])
    assert missing == [2]
    np.testing.assert_array_equal(got[0], vec[1])
    np.testing.assert_array_equal(got[1], vec[0])  # the first row of a repeated key wins
    with pytest.raises(ValueError, match="2 keys but 1 rows"):
        writer.put_keyed(["x", "y"], rows[:1])


def test_parts_of_another_width_are_absent_rows():
    from grapekg.app.features import _assemble

    a = (["g1", "g2"], np.array([[1.0, 2.0], [0.0, 0.0]], np.float32), np.array([True, False]))
    b = (["g3"], np.zeros((1, 0), np.float32), np.array([False]))  # no sequence in this part
    c = ([], np.zeros((0, 0), np.float32), np.zeros(0, bool))  # an empty part
    ids, vec, mask = _assemble([a, b, c])
    assert ids == ["g1", "g2", "g3"]
    np.testing.assert_array_equal(vec, [[1.0, 2.0], [0.0, 0.0], [0.0, 0.0]])
    assert mask.tolist() == [True, False, False]


# ------------------------------------------------------------------ two processes, end to end
def _worker(out: Path) -> None:
    """One rank: ``grape features compute`` (text, then kmer), recording what it encoded and
    every cache write."""
    from grapekg.cli.__main__ import run
    from grapekg.model.features import cache as cache_mod
    from grapekg.model.features import text as text_mod

    rank = int(os.environ["RANK"])
    seen: dict[str, int] = {"texts": 0, "cache_writes": 0, "cache_rows": 0}
    encode, put_keyed = text_mod.TextEncoder.encode, cache_mod.EmbeddingCache.put_keyed

    def counting_encode(self, texts):  # type: ignore[no-untyped-def]
        seen["texts"] += len(texts)
        return encode(self, texts)

    def counting_put(self, keys, vectors):  # type: ignore[no-untyped-def]
        before = len(list(self.dir.glob("shard-*.parquet")))
        put_keyed(self, keys, vectors)
        if len(list(self.dir.glob("shard-*.parquet"))) > before:
            seen["cache_writes"] += 1
            seen["cache_rows"] += len(set(keys))

    text_mod.TextEncoder.encode = counting_encode  # type: ignore[method-assign]
    cache_mod.EmbeddingCache.put_keyed = counting_put  # type: ignore[method-assign]
    run(["features", "compute", "--modality", "text"])
    run(["features", "compute", "--modality", "kmer", "--k", "2"])
    (out / f"rank{rank}.json").write_text(json.dumps(seen))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _launch(env: dict[str, str], out: Path, wait_s: float = 240.0) -> list[tuple[int, str]]:
    port = _free_port()
    procs = []
    for r in range(WORLD):
        e = {
            **env,
            "RANK": str(r),
            "LOCAL_RANK": str(r),
            "WORLD_SIZE": str(WORLD),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "GRAPE_DIST_TIMEOUT": "60",
            "OMP_NUM_THREADS": "1",
            "CUDA_VISIBLE_DEVICES": "",
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.test_features_sharded", str(out)],
                cwd=REPO,
                env=e,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    deadline = time.monotonic() + wait_s
    results = []
    for p in procs:
        try:
            stdout, stderr = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail(f"a rank was still running after {wait_s:.0f} s")
        results.append((p.returncode, stdout + stderr))
    return results


def test_two_processes_encode_halves_and_rank0_writes_once(
    store, neo4j_settings, kg_fixtures, cli_env, tmp_path
):
    from grapekg.app.features import FeatureOptions, compute_features
    from grapekg.kg import features as kgf
    from grapekg.kg.build import build
    from grapekg.model.features.kmer import kmer_matrix
    from tests.conftest import cy
    from tests.test_loader import mini_paths

    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    store.write(cy("MATCH (g:Gene {symbol: 'TP53'}) SET g.sequence = 'ACGTACGTTTGA'"))
    store.write(cy("MATCH (g:Gene {symbol: 'BRCA2'}) SET g.sequence = 'GGGCCCAATT'"))
    ids = kgf.gene_ids_for(store, "all")
    n = len(ids)
    assert n == 8

    out = tmp_path / "out"
    out.mkdir()
    cache_dir = tmp_path / "cache-2proc"
    env = dict(cli_env, GRAPE_CACHE_DIR=str(cache_dir))
    results = _launch(env, out)
    assert [rc for rc, _ in results] == [0, 0], [o[-1500:] for _, o in results]
    seen = [json.loads((out / f"rank{r}.json").read_text()) for r in range(WORLD)]
    # each rank encoded its half of the genes; rank 0 alone wrote the cache, once
    assert [s["texts"] for s in seen] == [n // 2, n // 2]
    assert [s["cache_writes"] for s in seen] == [1, 0]
    assert seen[0]["cache_rows"] == len({*kgf.gene_texts(store, ids).values()})
    shard_files = list(cache_dir.rglob("shard-*.parquet"))
    assert len(shard_files) == 1
    # only rank 0 printed the table
    assert "384" in results[0][1] and "384" not in results[1][1]
    two_text, mask = kgf.read_vectors(store, "text", ids)
    assert mask.all() and two_text.shape == (n, 384)
    two_kmer, kmask = kgf.read_vectors(store, "kmer", ids)
    seqs = [r["seq"] for r in map(kgf.gene_coordinates(store, ids).get, ids)]
    want, want_mask = kmer_matrix(seqs, 2)
    assert kmask.tolist() == want_mask.tolist() and kmask.sum() == 2
    np.testing.assert_array_equal(two_kmer[kmask], want[want_mask])

    # the same command in one process, from an empty cache, on the same genes
    store.write(cy("MATCH (g:Gene) REMOVE g.feat_text, g.feat_text_model"))
    one_settings = neo4j_settings.model_copy(update={"cache_dir": tmp_path / "cache-1proc"})
    assert "WORLD_SIZE" not in os.environ
    rep = compute_features(store, one_settings, FeatureOptions("text"))
    assert (rep.genes, rep.with_vector, rep.dim) == (n, n, 384)
    one_text, _ = kgf.read_vectors(store, "text", ids)
    np.testing.assert_allclose(two_text, one_text, rtol=0, atol=TEXT_TOL)
    assert len(list((tmp_path / "cache-1proc").rglob("shard-*.parquet"))) == 1


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
