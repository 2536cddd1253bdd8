"""A SYNTHETIC knowledge graph for tests: genes from `synthetic_genes` (real-looking Ensembl
ids), their GO BP terms and pathways, loaded through the real loader."""

from __future__ import annotations

from grapekg.kg import schema as schema_mod
from grapekg.kg.loader import Loader, ensure_schema
from grapekg.kg.records import Edge, Node, SourceInfo
from grapekg.kg.store import Store
from grapekg.perturb.simulate import synthetic_genes


def load_synthetic_kg(store: Store, n_genes: int = 300, seed: int = 0):
    sc = schema_mod.load()
    ensure_schema(store, sc)
    genes = synthetic_genes(n_genes, seed=seed)
    genes["ensembl_id"] = [f"ENSG{90000000000 + i:011d}" for i in range(n_genes)]
    terms = sorted({t for ts in genes["go_terms"] for t in ts})
    pws = sorted({p for ps in genes["pathways"] for p in ps})
    go_id = {t: t.replace("SYN-GO:", "GO:9") for t in terms}
    pw_id = {p: p.replace("SYN-PW-", "R-HSA-9") for p in pws}
    # three SYNTHETIC sources named like the real ones, so priors and exports accept them
    ens = SourceInfo("ensembl", "synthetic", "CC0")
    go = SourceInfo("go", "synthetic", "CC0")
    rea = SourceInfo("reactome", "synthetic", "CC0")
    gene_recs = [
        Node(
            "Gene",
            r.ensembl_id,
            {
                "symbol": r.symbol,
                "biotype_class": r.biotype_class,
                "biotype": "protein_coding" if r.biotype_class == "c" else "lncRNA",
            },
            ens.key,
        )
        for r in genes.itertuples()
    ]
    go_recs = [
        Node("GOTerm", go_id[t], {"name": t, "namespace": "biological_process"}, go.key)
        for t in terms
    ]
    go_recs += [
        Edge(
            "ANNOTATED_WITH",
            "Gene",
            r.ensembl_id,
            "GOTerm",
            go_id[t],
            {"evidence": ["IEA"]},
            go.key,
        )
        for r in genes.itertuples()
        for t in r.go_terms
    ]
    pw_recs = [Node("Pathway", pw_id[p], {"name": p, "level": 1}, rea.key) for p in pws]
    pw_recs += [
        Edge("IN_PATHWAY", "Gene", r.ensembl_id, "Pathway", pw_id[p], {}, rea.key)
        for r in genes.itertuples()
        for p in r.pathways
    ]
    for src, recs in ((ens, gene_recs), (go, go_recs), (rea, pw_recs)):
        loader = Loader(store, sc)
        loader.finish(loader.load(src, iter(recs)), {"synthetic": 1})
    return genes
