"""A SYNTHETIC knowledge graph for tests: genes from `synthetic_genes` (real-looking Ensembl
ids), their GO BP terms and pathways, loaded through the real loader."""

from __future__ import annotations

from grapekg.kg import schema as schema_mod
from grapekg.kg.loader import Loader, ensure_schema
from grapekg.kg.records import Edge, Node, SourceInfo
from grapekg.kg.store import Store
from grapekg.model.perturbation.simulate import synthetic_genes


def load_synthetic_kg(store: Store, n_genes: int = 300, seed: int = 0):
    sc = schema_mod.load()
    ensure_schema(store, sc)
    genes = synthetic_genes(n_genes, seed=seed)
    genes["ensembl_id"] = [f"ENSG{90000000000 + i:011d}" for i in range(n_genes)]
    src = SourceInfo("synthetic", "1", "CC0")
    recs = []
    terms = sorted({t for ts in genes["go_terms"] for t in ts})
    pws = sorted({p for ps in genes["pathways"] for p in ps})
    recs += [Node("GOTerm", t.replace("SYN-GO:", "GO:9"), {"name": t, "namespace": "biological_process"}, src.key) for t in terms]
    recs += [Node("Pathway", p.replace("SYN-PW-", "R-HSA-9"), {"name": p, "level": 1}, src.key) for p in pws]
    for r in genes.itertuples():
        recs.append(Node("Gene", r.ensembl_id, {"symbol": r.symbol, "biotype_class": r.biotype_class,
                                                "biotype": "protein_coding" if r.biotype_class == "c" else "lncRNA"},
                         src.key))
    for r in genes.itertuples():
        recs += [Edge("ANNOTATED_WITH", "Gene", r.ensembl_id, "GOTerm", t.replace("SYN-GO:", "GO:9"),
                      {"evidence": ["IEA"]}, src.key) for t in r.go_terms]
        recs += [Edge("IN_PATHWAY", "Gene", r.ensembl_id, "Pathway", p.replace("SYN-PW-", "R-HSA-9"), {}, src.key)
                 for p in r.pathways]
    Loader(store, sc).load(src, iter(recs))
    return genes
