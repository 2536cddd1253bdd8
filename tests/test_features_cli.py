"""`grape features compute` end to end on the real Neo4j (offline all-MiniLM-L6-v2; k-mers)."""

import numpy as np

from grapekg.kg import features as kgf
from grapekg.kg.build import build
from tests.conftest import cy
from tests.test_cli import grape
from tests.test_loader import mini_paths


def test_text_and_kmer_features(store, neo4j_settings, kg_fixtures, cli_env, tmp_path):
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    env = dict(cli_env, GRAPE_CACHE_DIR=str(tmp_path / "cache"))
    out = grape(env, "features", "compute", "--modality", "text").stdout
    assert "384" in out
    ids = [r["id"] for r in store.read(cy("MATCH (g:Gene) RETURN g.ensembl_id AS id ORDER BY id"))]
    mat, mask = kgf.read_vectors(store, "text", ids)
    assert mask.all() and mat.shape == (8, 384)
    # p53 and BRCA1/2 descriptions sit closer to each other than to a miRNA with no text
    near = [r["symbol"] for r in kgf.nearest(store, "text", "ENSG00000139618", k=1)]
    assert near == ["BRCA1"]
    # resumable: a second run encodes nothing new
    out2 = grape(env, "features", "compute", "--modality", "text").stdout
    assert "8" in out2
    # k-mers from a sequence property; genes without sequence get no vector
    store.write(cy("MATCH (g:Gene {symbol: 'TP53'}) SET g.sequence = 'ACGTACGTTTGA'"))
    grape(env, "features", "compute", "--modality", "kmer", "--k", "2")
    mat, mask = kgf.read_vectors(store, "kmer", ids)
    assert mask.sum() == 1 and mat.shape[1] == 16
    assert np.isclose(np.nansum(mat), 1.0)
    p = grape(env, "features", "compute", "--modality", "dna", check=False)
    # a missing option is a usage error: one line, exit code 2
    assert p.returncode == 2 and "--model" in p.stderr and len(p.stderr.strip().splitlines()) == 1
