"""Gene identity: synonym sources and the resolution routes, by hand on tiny
tables, and the resolution rate of the two real screens in ../shared/data/real."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from grapekg.errors import InputError
from grapekg.kg.adapters.synonyms import ReleaseTable, SynonymAdapter
from grapekg.kg.genes import GeneIndex
from grapekg.kg.identity import GeneResolver, ResolutionReport
from grapekg.kg.records import Edge, Node

GENES = [
    {"ensembl_id": "ENSG00000114737", "symbol": "LRMDA", "chrom": "10", "entrez_id": "83938"},
    {"ensembl_id": "ENSG00000165406", "symbol": "MARCHF8", "chrom": "10", "entrez_id": "220972"},
    {"ensembl_id": "ENSG00000141510", "symbol": "TP53", "chrom": "17", "entrez_id": "7157"},
    {"ensembl_id": "ENSG00000231840", "symbol": "AC073342.1", "chrom": "7"},
    {"ensembl_id": "ENSG00000269900", "symbol": "RMRP", "chrom": "9"},
    {"ensembl_id": "ENSG00000277027", "symbol": "RMRP", "chrom": "9"},
    {"ensembl_id": "ENSG00000284543", "symbol": "LINC01226", "chrom": "1"},
    {"ensembl_id": "ENSG00000000001", "symbol": "ALTGENE", "chrom": "CHR_HSCHR6_MHC"},
    {"ensembl_id": "ENSG00000000002", "symbol": "ALTGENE", "chrom": "6"},
]


def _index() -> GeneIndex:
    return GeneIndex.from_rows(GENES)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _org_hs(path: Path) -> Path:
    """A tiny SQLite with the org.Hs.eg.db tables the adapter reads."""
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE genes (_id INTEGER, gene_id TEXT);
        CREATE TABLE gene_info (_id INTEGER, gene_name TEXT, symbol TEXT);
        CREATE TABLE alias (_id INTEGER, alias_symbol TEXT);
        CREATE TABLE ensembl (_id INTEGER, ensembl_id TEXT);
        CREATE TABLE genetype (_id INTEGER, gene_type TEXT);
        CREATE TABLE chromosomes (_id INTEGER, chromosome TEXT);
        INSERT INTO genes VALUES (1, '7157'), (2, '107984660'), (3, '83938');
        INSERT INTO gene_info VALUES (1, 'tumor protein p53', 'TP53'),
            (2, 'AJUBA divergent transcript', 'AJUBA-DT'),
            (3, 'leucine rich melanocyte differentiation associated', 'LRMDA');
        INSERT INTO alias VALUES (1, 'P53'), (1, 'LFS1'), (3, 'C10ORF11X');
        INSERT INTO ensembl VALUES (1, 'ENSG00000141510');
        INSERT INTO genetype VALUES (1, 'protein-coding'), (2, 'ncRNA'), (3, 'protein-coding');
        INSERT INTO chromosomes VALUES (1, '17'), (2, '14'), (3, '10');
    """)
    con.commit()
    con.close()
    return path


def _resolver(adapter: SynonymAdapter, index: GeneIndex) -> GeneResolver:
    res = GeneResolver(index)
    for r in adapter.records(index):
        if isinstance(r, Edge):
            res.add_synonym(r.src_key, r.dst_key, r.props["kind"])
        elif isinstance(r, Node) and r.label == "ExternalGene":
            res.add_external(r.key, r.props.get("symbol"), r.props["status"])
    return res


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Path]:
    hgnc = _write(
        tmp_path / "hgnc.tsv",
        "hgnc_id\tsymbol\tprev_symbol\talias_symbol\tensembl_gene_id\tentrez_id\n"
        "HGNC:1\tLRMDA\tC10orf11\t\tENSG00000114737\t83938\n"
        'HGNC:2\tMARCHF8\t"MARCH8|MIR"\tc-MIR|CMIR\tENSG00000165406\t220972\n'
        "HGNC:3\tTP53\t\tLFS1\t\t7157\n",
    )
    rel = _write(
        tmp_path / "ens84.tsv",
        "ensembl_id\tsymbol\tbiotype\tchrom\n"
        "ENSG00000231840.3\tRP11-1K1.1\tlincRNA\t7\n"
        "ENSG00000259806\tCTD-2196E14.4\tlincRNA\t15\n"
        "ENSG00000223907\tLINC01226\tlincRNA\t1\n"
        "ENSG00000230177\tAL080317.1\tlincRNA\t1\n",
    )
    return {"hgnc": hgnc, "release_84": rel, "ncbi": _org_hs(tmp_path / "org.Hs.eg.sqlite")}


def test_routes_by_hand(sources: dict[str, Path]) -> None:
    index = _index()
    res = _resolver(SynonymAdapter.from_paths(sources), index)
    r = res.resolve
    assert (r("TP53").ensembl_id, r("TP53").route) == ("ENSG00000141510", "symbol")
    assert r("tp53").ensembl_id == "ENSG00000141510"  # case is ignored
    assert (r("ENSG00000141510.17").ensembl_id, r("ENSG00000141510.17").route) == (
        "ENSG00000141510",
        "ensembl_id",
    )  # versioned id
    assert (r("C10orf11").ensembl_id, r("C10orf11").route) == ("ENSG00000114737", "previous_symbol")
    assert (r("MARCH8").ensembl_id, r("MARCH8").route) == ("ENSG00000165406", "previous_symbol")
    assert (r("RP11-1K1.1").ensembl_id, r("RP11-1K1.1").route) == (
        "ENSG00000231840",
        "release_symbol",
    )
    assert (r("P53").ensembl_id, r("P53").route) == ("ENSG00000141510", "alias")
    assert (r("CMIR").ensembl_id, r("CMIR").route) == ("ENSG00000165406", "alias")
    # a retired id whose HGNC symbol passed to one current gene
    assert (r("ENSG00000223907").ensembl_id, r("ENSG00000223907").route) == (
        "ENSG00000284543",
        "retired_id",
    )
    # retired genes with clone names have no successor: identified, not in the KG
    ctd = r("CTD-2196E14.4")
    assert not ctd.resolved and ctd.identified and ctd.external == "ENSG00000259806"
    assert ctd.external_status == "retired"
    assert r("ENSG00000230177").external == "ENSG00000230177"  # clone name reused: no successor
    # an NCBI gene newer than the Ensembl release
    dt = r("AJUBA-DT")
    assert dt.external == "NCBIGene:107984660" and dt.external_status == "ncbi_only"
    # ambiguous: both on the primary assembly -> listed, nothing chosen
    rm = r("RMRP")
    assert (
        rm.ambiguous
        and not rm.resolved
        and set(rm.candidates) == {"ENSG00000269900", "ENSG00000277027"}
    )
    # one on the primary assembly, one on a haplotype scaffold -> the primary one
    assert r("ALTGENE").ensembl_id == "ENSG00000000002"
    assert not r("NO-SUCH-GENE").identified and not r("NO-SUCH-GENE").ambiguous


def test_current_symbol_wins_over_synonyms(sources: dict[str, Path], tmp_path: Path) -> None:
    """A name that is one gene's current symbol and another's alias is the current gene."""
    hgnc = _write(
        tmp_path / "h2.tsv",
        "symbol\tprev_symbol\talias_symbol\tensembl_gene_id\nMARCHF8\tTP53\t\tENSG00000165406\n",
    )
    res = _resolver(SynonymAdapter.from_paths({"hgnc": hgnc}), _index())
    assert res.resolve("TP53").ensembl_id == "ENSG00000141510"


def test_report_counts(sources: dict[str, Path]) -> None:
    res = _resolver(SynonymAdapter.from_paths(sources), _index())
    rep = ResolutionReport(res.resolve_all(["TP53", "C10orf11", "AJUBA-DT", "RMRP", "XYZ"]))
    assert (rep.n, rep.n_resolved, rep.n_identified) == (5, 2, 3)
    assert rep.unknown() == ["XYZ"] and list(rep.ambiguous()) == ["RMRP"]
    assert rep.renamed() == {"C10orf11": "ENSG00000114737"}
    line = rep.line("measured genes")
    assert line.startswith("measured genes: 2 of 5 resolve to KG genes (40.0 %), 3 identified")
    assert "previous_symbol 1" in line and "ambiguous 1" in line and "unknown 1" in line


def test_gene_info_route(tmp_path: Path) -> None:
    gi = _write(
        tmp_path / "Homo_sapiens.gene_info",
        "#tax_id\tGeneID\tSymbol\tLocusTag\tSynonyms\tdbXrefs\tchromosome\tmap_location\t"
        "description\ttype_of_gene\n"
        "9606\t7157\tTP53\t-\tP53|LFS1\tMIM:191170|Ensembl:ENSG00000141510\t17\t17p13.1\t"
        "tumor protein p53\tprotein-coding\n"
        "9606\t121232375\tMED28-DT\t-\t-\t-\t4\t4p15\tMED28 divergent transcript\tncRNA\n"
        "10090\t22059\tTrp53\t-\t-\t-\t11\t-\tmouse\tprotein-coding\n",
    )
    res = _resolver(SynonymAdapter.from_paths({"ncbi": gi}), _index())
    assert res.resolve("LFS1").ensembl_id == "ENSG00000141510"
    assert res.resolve("MED28-DT").external == "NCBIGene:121232375"
    assert not res.resolve("Trp53").identified  # other species' rows are skipped


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    idx = _index()
    with pytest.raises(InputError, match="pickled tables are not read from user paths"):
        SynonymAdapter.from_paths({"hgnc": tmp_path / "x.pkl.xz"})
    with pytest.raises(InputError, match="unknown synonyms input role"):
        SynonymAdapter.from_paths({"gtf": tmp_path / "x.tsv"})
    bad = _write(tmp_path / "r.tsv", "ensembl_id\tsymbol\tbiotype\nNOTANID\tX\tlincRNA\n")
    with pytest.raises(InputError, match=r"r\.tsv:2: not an Ensembl gene id"):
        list(SynonymAdapter.from_paths({"release_x": bad}).records(idx))
    nohead = _write(tmp_path / "h.tsv", "symbol\tnothing\nA\tB\n")
    with pytest.raises(InputError, match=r"h\.tsv:1: header lacks column"):
        list(SynonymAdapter.from_paths({"hgnc": nohead}).records(idx))
    notdb = _write(tmp_path / "x.sqlite", "SQLite format 3\x00garbage")
    with pytest.raises(InputError, match="x.sqlite"):
        list(SynonymAdapter.from_paths({"ncbi": notdb}).records(idx))
    with pytest.raises(InputError, match="needs the Ensembl genes"):
        list(SynonymAdapter.from_paths({"hgnc": nohead}).records(GeneIndex()))


def test_user_pickle_is_refused_even_when_given_directly(tmp_path: Path) -> None:
    """No pickle from a user's path: only the adapter built by the defaults may read one."""
    p = tmp_path / "evil.pkl"
    p.write_bytes(b"not read")
    ad = SynonymAdapter(releases=(ReleaseTable("x", p),))
    with pytest.raises(InputError, match="pickled tables are not read"):
        list(ad.records(_index()))


from tests.conftest import REAL_DATA as REAL  # noqa: E402


@pytest.fixture(scope="module")
def real_resolver() -> GeneResolver:
    """The offline default sources (the KG's Ensembl 100 genes + every synonym source)."""
    from grapekg.kg import defaults
    from grapekg.kg.adapters.ensembl import EnsemblAdapter
    from grapekg.kg.adapters.synonyms import default_adapter
    from grapekg.settings import Settings

    s = Settings.load()
    genes = EnsemblAdapter(table=defaults.path(s, "ensembl.table")).records()
    index = GeneIndex.from_rows(dict(n.props, ensembl_id=n.key) for n in genes)
    adapter = default_adapter(s)
    assert adapter.ncbi is not None, "make data fetches org.Hs.eg.db (apt-get download)"
    return _resolver(adapter, index)


@pytest.mark.parametrize(
    ("name", "target_col"),
    [
        ("papalexi2021_thp1_eccite.h5ad", "target"),
        ("datlingerbock2021_jurkat_scifi.h5ad", "perturbation"),
    ],
)
def test_real_screens_resolve(
    real_resolver: GeneResolver, name: str, target_col: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The identity target: >= 99 % of measured genes and 100 % of targets are identified."""
    import re

    import anndata as ad

    a = ad.read_h5ad(REAL / name, backed="r")
    genes = ResolutionReport(real_resolver.resolve_all(a.var_names))
    labels = {re.sub(r"_\d+$", "", str(x)) for x in a.obs[target_col]}
    targets = ResolutionReport(
        real_resolver.resolve_all(sorted(labels - {"non-targeting", "control"}))
    )
    with capsys.disabled():
        print(f"\n{name}\n  {genes.line('measured genes')}\n  {targets.line('targets')}")
    assert genes.n_identified / genes.n >= 0.99
    assert genes.n_resolved / genes.n >= 0.97
    assert targets.n_resolved == targets.n
    assert not genes.unknown()
    if name.startswith("papalexi"):
        assert targets.renamed() == {"MARCH8": "ENSG00000165406"}  # MARCHF8 since 2019
        lrmda = real_resolver.resolve("C10orf11")  # an old symbol renamed since: now LRMDA
        assert (lrmda.ensembl_id, lrmda.route) == ("ENSG00000148655", "previous_symbol")


def test_synonyms_load_into_neo4j_and_resolve_on_import(
    store, neo4j_settings, kg_fixtures, tmp_path
):
    """Through the real loader and server: an import finds a measured gene under its previous
    symbol, a target under an NCBI alias, and names a retired gene instead of 'not found'."""
    import anndata as ad
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    from grapekg.app import datasets
    from grapekg.kg.build import build
    from grapekg.kg.loader import gene_index_from_store
    from tests.conftest import cy

    hgnc = _write(
        tmp_path / "hgnc.tsv",
        "symbol\tprev_symbol\talias_symbol\tensembl_gene_id\n"
        "CDKN1A\tCDKN1\tP21|CIP1\tENSG00000124762\n",
    )
    rel = _write(
        tmp_path / "ens75.tsv",
        "ensembl_id\tsymbol\tbiotype\n"
        "ENSG00000245532\tRP11-1A1.1\tlincRNA\n"
        "ENSG00000259806\tCTD-2196E14.4\tlincRNA\n",
    )
    ncbi = _org_hs(tmp_path / "org.Hs.eg.sqlite")  # TP53 aliases P53, LFS1
    paths = {
        "ensembl": {"table": kg_fixtures / "genes.tsv"},
        "synonyms": {"hgnc": hgnc, "release_75": rel, "ncbi": ncbi},
    }
    reps = build(store, neo4j_settings, ["ensembl", "synonyms"], paths)
    assert [r.source.name for r in reps] == ["ensembl", "synonyms"]
    n = store.read(cy("MATCH (:Synonym)-[r:SYNONYM_OF]->(:Gene) RETURN count(r) AS n"))[0]["n"]
    assert n == 6  # CDKN1, P21, CIP1, RP11-1A1.1, P53, LFS1
    res = GeneResolver.from_store(store, gene_index_from_store(store))
    assert res.resolve("cip1").ensembl_id == "ENSG00000124762"
    assert res.resolve("CTD-2196E14.4").external == "ENSG00000259806"

    genes = ["TP53", "CDKN1", "RP11-1A1.1", "CTD-2196E14.4", "MDM2"]
    conds = ["ctrl"] * 4 + ["P53+ctrl"] * 3 + ["CIP1+ctrl"] * 3
    x = np.log1p(np.random.default_rng(0).poisson(3.0, size=(len(conds), len(genes))))
    a = ad.AnnData(
        X=sp.csr_matrix(x.astype(np.float32)),
        obs=pd.DataFrame({"condition": conds}, index=[f"c{i}" for i in range(10)]),
        var=pd.DataFrame({"gene_name": genes}, index=genes),
    )
    a.write_h5ad(tmp_path / "old_names.h5ad")
    rep = datasets.import_h5ad(
        store, neo4j_settings, tmp_path / "old_names.h5ad", name="old", progress=False
    )
    assert rep.genes_in_kg == 4 and rep.targets_not_in_kg == []
    assert rep.renamed == {
        "CDKN1": "ENSG00000124762",
        "RP11-1A1.1": "ENSG00000245532",
        "P53": "ENSG00000141510",
        "CIP1": "ENSG00000124762",
    }
    assert rep.external == {"CTD-2196E14.4": "ENSG00000259806 (retired)"}
    assert rep.gene_line.startswith(
        "measured genes: 4 of 5 resolve to KG genes (80.0 %), 5 identified (100.0 %)"
    )
    # the target and the measured gene it names are one node: CIP1+ctrl targets CDKN1A
    t = store.read(
        cy(
            "MATCH (:Condition {id: 'old/CIP1+ctrl'})-[:TARGETS]->(g:Gene) "
            "RETURN g.ensembl_id AS id"
        )
    )
    assert t == [{"id": "ENSG00000124762"}]
