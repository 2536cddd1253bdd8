"""The knowledge sources STRING, CollecTRI, PROGENy and MSigDB: adapters on hand-written
fixtures (tests/fixtures/knowledge, counts worked out by hand in the comments), bad input,
the R lazy-load reader on a hand-built file, the offline files against the copies in
../shared/data/knowledge, and loads into the real Neo4j (all-or-nothing, the online route over
a loopback HTTP server, the reader for models, the user queries, the CLI)."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import http.server
import json
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from grapekg import cypher
from grapekg.errors import ConfigError, InputError
from grapekg.kg import schema as schema_mod
from grapekg.kg.adapters._rdata import data_frame, lazyload, lazyload_names
from grapekg.kg.adapters.collectri import CollecTRIAdapter, vendored_path
from grapekg.kg.adapters.ensembl import EnsemblAdapter
from grapekg.kg.adapters.msigdb import MSigDBAdapter
from grapekg.kg.adapters.progeny import ProgenyAdapter
from grapekg.kg.adapters.string import StringAdapter
from grapekg.kg.adapters.synonyms import SynonymAdapter
from grapekg.kg.build import build
from grapekg.kg.export.knowledge import knowledge_edges
from grapekg.kg.genes import GeneIndex
from grapekg.kg.identity import GeneResolver
from grapekg.kg.loader import kg_counts
from grapekg.kg.records import Edge, Node
from tests.conftest import cy

FX = Path(__file__).parent / "fixtures" / "knowledge"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "knowledge"
TP53, MDM2, CDKN1A, BRCA1 = (
    "ENSG00000141510",
    "ENSG00000135679",
    "ENSG00000124762",
    "ENSG00000012048",
)
STAT1, IRF1 = "ENSG00000115415", "ENSG00000125347"


def genes() -> GeneIndex:
    recs = list(EnsemblAdapter(table=FX / "genes.tsv").records())
    return GeneIndex.from_rows([{"ensembl_id": r.key, **r.props} for r in recs])


def resolver() -> GeneResolver:
    """The fixture genes with the HGNC aliases of hgnc.tsv (P53 -> TP53, P21 -> CDKN1A)."""
    idx = genes()
    res = GeneResolver(idx)
    for rec in SynonymAdapter(hgnc=FX / "hgnc.tsv").records(idx):
        if isinstance(rec, Edge) and rec.type == "SYNONYM_OF":
            res.add_synonym(rec.src_key, rec.dst_key, rec.props["kind"])
    return res


def edges(recs, rtype):
    return {(e.src_key, e.dst_key): dict(e.props) for e in recs if isinstance(e, Edge)}


# ---------------------------------------------------------------------------- CollecTRI
def test_collectri_signs_pmids_and_identity_counts():
    a = CollecTRIAdapter(csv=FX / "collectri.csv", version="T")
    a.resolver = resolver()
    e = edges(list(a.records(genes())), "REGULATES_EXPRESSION")
    # P53 is TP53's alias: its MDM2 row merges into TP53->MDM2 (PubMed ids united); its BRCA1
    # row says -1 where TP53's says +1, so that pair is dropped, not guessed
    assert e == {
        (TP53, MDM2): {"sign": 1, "pmids": ["1614537", "8319905", "10722742"]},
        (TP53, CDKN1A): {"sign": 1, "pmids": ["8242752"]},
        (STAT1, IRF1): {"sign": 1, "pmids": ["9710600"]},
        (IRF1, TP53): {"sign": -1, "pmids": []},
    }
    s = a.stats
    assert s["rows"] == 10 and s["rows_merged"] == 2 and s["sign_conflicts_dropped"] == 1
    # names: TP53 MDM2 CDKN1A P53 STAT1 IRF1 BRCA1 mapped (7, P53 renamed), AP1 and
    # NOSUCHGENE unmapped, DUPL ambiguous (two genes)
    assert (s["mapped_genes"], s["renamed_genes"]) == (7, 1)
    assert (s["unmapped_genes"], s["ambiguous_genes"]) == (2, 1)
    assert s["rows_unmapped"] == 3  # AP1, DUPL, NOSUCHGENE rows
    assert s["edges_activation"] == 3 and s["edges_repression"] == 1


def test_collectri_without_synonyms_counts_the_alias_unmapped():
    a = CollecTRIAdapter(csv=FX / "collectri.csv", version="T")
    list(a.records(genes()))
    assert a.stats["mapped_genes"] == 6 and a.stats["unmapped_genes"] == 3


@pytest.mark.parametrize(
    "text, line, what",
    [
        ("source,target\nTP53,MDM2\n", 1, "lacks column"),
        ("source,target,weight,PMID\nTP53,MDM2,1\n", 2, "expected 4 columns"),
        ("source,target,weight,PMID\nTP53,MDM2,1,1\nTP53,MDM2,up,1\n", 3, "not a number"),
        ("source,target,weight,PMID\nTP53,MDM2,0.5,1\n", 2, "must be 1 or -1"),
        ("source,target,weight,PMID\n,MDM2,1,1\n", 2, "empty source"),
    ],
)
def test_collectri_bad_lines(tmp_path, text, line, what):
    p = tmp_path / "c.csv"
    p.write_text(text)
    with pytest.raises(InputError) as ei:
        list(CollecTRIAdapter(csv=p).records(genes()))
    assert ei.value.line == line and what in str(ei.value) and "c.csv" in str(ei.value)


def test_collectri_vendored_file_is_the_shared_one():
    with gzip.open(vendored_path(), "rb") as fh:
        got = hashlib.sha256(fh.read()).hexdigest()
    assert got == hashlib.sha256((SHARED / "collectri_human.csv").read_bytes()).hexdigest()
    assert (vendored_path().parent / "COLLECTRI.md").read_text().count("CC BY 4.0") == 1


# ---------------------------------------------------------------------------- STRING
def test_string_scored_links_with_aliases():
    a = StringAdapter(links=FX / "links.txt", aliases=FX / "aliases.txt", min_score=900)
    a.resolver = resolver()
    recs = list(a.records(genes()))
    e = edges(recs, "INTERACTS_WITH")
    # TP53-MDM2 listed both ways -> once, smaller id first; TP53-BRCA1 (700) below 900;
    # P21 -> CDKN1A by alias; IRF1's second protein (its ENSG alias) folds into IRF1 with
    # STAT1's (a self-link would need both ends on one gene: IRF1-IRF1 dropped); DUPL ambiguous
    assert e == {
        (TP53, MDM2) if TP53 < MDM2 else (MDM2, TP53): {"network": "functional", "score": 999},
        (CDKN1A, TP53): {"network": "functional", "score": 950},
        (STAT1, IRF1) if STAT1 < IRF1 else (IRF1, STAT1): {"network": "functional", "score": 930},
    }
    assert all(e.src_key < e.dst_key for e in recs)
    s = a.stats
    assert s["links_read"] == 7 and s["links_below_min_score"] == 1
    assert s["links_merged"] == 1 and s["links_self_dropped"] == 1 and s["links_unmapped"] == 1
    assert (s["mapped_proteins"], s["ambiguous_proteins"], s["unmapped_proteins"]) == (6, 1, 0)


def test_string_threshold_option_and_network():
    a = StringAdapter(links=FX / "links.txt", aliases=FX / "aliases.txt", min_score=600)
    e = edges(list(a.records(genes())), "INTERACTS_WITH")
    assert (BRCA1, TP53) in e and e[(BRCA1, TP53)]["score"] == 700
    a = StringAdapter(
        links=FX / "links.txt", aliases=FX / "aliases.txt", min_score=995, network="physical"
    )
    e = edges(list(a.records(genes())), "INTERACTS_WITH")
    assert list(e.values()) == [{"network": "physical", "score": 999}]
    with pytest.raises(ConfigError):
        StringAdapter(links=FX / "links.txt", min_score=1001)
    with pytest.raises(ConfigError):
        StringAdapter.parse_options({"min_scor": "3"})
    with pytest.raises(ConfigError):
        StringAdapter.parse_options({"min_score": "high"})


def test_string_scoreless_file_and_symbol_map():
    a = StringAdapter(links=FX / "links_min900.csv", symbols=FX / "symbols.csv", score_floor=900)
    e = edges(list(a.records(genes())), "INTERACTS_WITH")
    assert set(e) == {tuple(sorted((TP53, MDM2))), tuple(sorted((STAT1, IRF1)))}
    assert all(v == {"network": "physical"} for v in e.values())  # no score invented
    assert a.stats["unmapped_proteins"] == 1  # ENSP00000000001 has no symbol
    # a threshold the file cannot honour is refused, with the reason
    for bad in (950, 700):
        b = StringAdapter(
            links=FX / "links_min900.csv", symbols=FX / "symbols.csv", score_floor=900
        )
        b.min_score = bad
        with pytest.raises(ConfigError, match="without scores"):
            list(b.records(genes()))
    b.min_score = 900  # the file's own floor: honoured
    assert len(list(b.records(genes()))) == 2


def test_string_ncbi_fallback_for_proteins_the_map_lacks(tmp_path):
    import sqlite3

    db = tmp_path / "org.Hs.eg.sqlite"
    con = sqlite3.connect(db)
    con.executescript(
        "CREATE TABLE gene_info (_id INTEGER, gene_name TEXT, symbol TEXT);"
        "CREATE TABLE ensembl_prot (_id INTEGER, prot_id TEXT);"
        "INSERT INTO gene_info VALUES (1, 'BRCA1 DNA repair associated', 'BRCA1'),"
        " (2, 'MDM2 proto-oncogene', 'MDM2');"
        "INSERT INTO ensembl_prot VALUES (1, 'ENSP00000000001'), (2, 'ENSP00000269305');"
    )
    con.commit()
    con.close()
    a = StringAdapter(
        links=FX / "links_min900.csv", symbols=FX / "symbols.csv", ncbi=db, score_floor=900
    )
    e = edges(list(a.records(genes())), "INTERACTS_WITH")
    # ENSP00000000001 is not in the symbol map: its NCBI gene BRCA1 maps it; TP53's protein IS
    # in the map, so the NCBI table's (made-up) MDM2 for it is never consulted
    assert tuple(sorted((TP53, BRCA1))) in e and len(e) == 3
    assert a.stats["proteins_via_ncbi"] == 1 and a.stats["unmapped_proteins"] == 0
    bad = tmp_path / "x.sqlite"
    bad.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(InputError, match="x.sqlite"):
        list(
            StringAdapter(links=FX / "links.txt", aliases=FX / "aliases.txt", ncbi=bad).records(
                genes()
            )
        )


@pytest.mark.parametrize(
    "text, line, what",
    [
        ("protein1 protein2 combined_score\n9606.ENSP00000269305 X 900\n", 2, "STRING protein"),
        ("protein1 protein2 combined_score\n9606.ENSP00000269305 9606.ENSP00000258149\n", 2, "3"),
        (
            "protein1 protein2 combined_score\n9606.ENSP00000269305 9606.ENSP00000258149 1200\n",
            2,
            "outside 0..1000",
        ),
        ("a b c\n", 1, "header must start"),
    ],
)
def test_string_bad_lines(tmp_path, text, line, what):
    p = tmp_path / "links.txt"
    p.write_text(text)
    with pytest.raises(InputError) as ei:
        list(StringAdapter(links=p, aliases=FX / "aliases.txt").records(genes()))
    assert ei.value.line == line and what in str(ei.value)


# ---------------------------------------------------------------------------- PROGENy
def test_progeny_top_n_by_p_value():
    a = ProgenyAdapter(table=FX / "progeny.tsv", top=2, version="T")
    a.resolver = resolver()
    recs = list(a.records(genes()))
    assert [r.key for r in recs if isinstance(r, Node)] == ["JAK-STAT", "p53"]
    e = {(x.src_key, x.dst_key): dict(x.props) for x in recs if isinstance(x, Edge)}
    # p53: CDKN1A (1e-5) and MDM2 (1e-4) are the 2 smallest p-values; JAK-STAT: STAT1, IRF1
    assert e == {
        (CDKN1A, "p53"): {"weight": 4.0, "p_value": 1e-5, "sign": 1},
        (MDM2, "p53"): {"weight": 3.0, "p_value": 1e-4, "sign": 1},
        (STAT1, "JAK-STAT"): {"weight": 5.0, "p_value": 1e-10, "sign": 1},
        (IRF1, "JAK-STAT"): {"weight": 4.5, "p_value": 1e-8, "sign": 1},
    }
    b = ProgenyAdapter(table=FX / "progeny.tsv", top=0)
    b.resolver = resolver()
    e = {(x.src_key, x.dst_key): x.props for x in b.records(genes()) if isinstance(x, Edge)}
    assert len(e) == 8 and e[(BRCA1, "p53")]["sign"] == -1 and e[(CDKN1A, "JAK-STAT")]["sign"] == -1
    with pytest.raises(ConfigError):
        ProgenyAdapter(table=FX / "progeny.tsv", top=-1)


def test_progeny_bad_lines(tmp_path):
    p = tmp_path / "m.tsv"
    p.write_text("gene\tpathway\tweight\tp.value\nTP53\tp53\t1.0\t2.0\n")
    with pytest.raises(InputError, match=r"m.tsv:2: p.value is not in \[0, 1\]"):
        list(ProgenyAdapter(table=p).records(genes()))
    p.write_text("gene\tpathway\tweight\nTP53\tp53\t1.0\n")
    with pytest.raises(InputError, match="lacks column"):
        list(ProgenyAdapter(table=p).records(genes()))


# -- a hand-built R lazy-load database (XDR serialisation written here, bzip2 records)
def _i(v: int) -> bytes:
    return struct.pack(">i", v)


def _chars(s: str | None) -> bytes:
    if s is None:
        return _i(9) + _i(-1)
    b = s.encode()
    return _i(0x40009) + _i(len(b)) + b


def _strsxp(values, attrs: bytes = b"") -> bytes:
    return (
        _i(16 | (0x200 if attrs else 0)) + _i(len(values)) + b"".join(map(_chars, values)) + attrs
    )


def _attrs(pairs) -> bytes:
    """A pairlist of (tag, serialised value) ending with NILVALUE."""
    out = b""
    for tag, value in pairs:
        out += _i(2 | 0x400) + _i(1) + _chars(tag) + value
    return out + _i(254)


def _header() -> bytes:
    return b"X\n" + _i(3) + _i(0x040202) + _i(0x030500) + _i(5) + b"UTF-8"


def _frame() -> bytes:
    """data.frame(gene = c('TP53','MDM2'), pathway = factor(c('p53','p53')),
    weight = c(2.5, -1), p.value = c(0.01, 0.2)) with compact row names."""
    gene = _strsxp(["TP53", "MDM2"])
    pathway = (
        _i(13 | 0x200 | 0x100)
        + _i(2)
        + _i(1)
        + _i(1)
        + _attrs([("levels", _strsxp(["p53"])), ("class", _strsxp(["factor"]))])
    )
    weight = _i(14) + _i(2) + struct.pack(">dd", 2.5, -1.0)
    pval = _i(14) + _i(2) + struct.pack(">dd", 0.01, 0.2)
    attrs = _attrs(
        [
            ("names", _strsxp(["gene", "pathway", "weight", "p.value"])),
            ("class", _strsxp(["data.frame"])),
            ("row.names", _i(13) + _i(2) + _i(-(2**31)) + _i(-2)),
        ]
    )
    return _header() + _i(19 | 0x200 | 0x100) + _i(4) + gene + pathway + weight + pval + attrs


def _lazyload_db(folder: Path, obj: bytes) -> tuple[Path, Path]:
    record = struct.pack(">I", len(obj)) + b"2" + bz2.compress(obj)
    rdb = folder / "Rdata.rdb"
    rdb.write_bytes(record)
    pos = _i(13) + _i(2) + _i(0) + _i(len(record))
    variables = _i(19 | 0x200) + _i(1) + pos + _attrs([("names", _strsxp(["model"]))])
    index = (
        _header()
        + _i(19 | 0x200)
        + _i(2)
        + variables
        + _i(13)
        + _i(1)
        + _i(2)
        + _attrs([("names", _strsxp(["variables", "compressed"]))])
    )
    rdx = folder / "Rdata.rdx"
    rdx.write_bytes(gzip.compress(index))
    return rdb, rdx


def test_rdata_reader_on_a_hand_built_database(tmp_path):
    rdb, rdx = _lazyload_db(tmp_path, _frame())
    assert lazyload_names(rdx) == ["model"]
    df = data_frame(lazyload(rdb, rdx, "model"), "x")
    assert df["gene"] == ["TP53", "MDM2"] and df["pathway"] == ["p53", "p53"]
    assert np.array_equal(df["weight"], [2.5, -1.0]) and np.array_equal(df["p.value"], [0.01, 0.2])
    a = ProgenyAdapter(rdb=rdb, rdx=rdx, object="model", top=1)
    e = [(x.src_key, x.props["sign"]) for x in a.records(genes()) if isinstance(x, Edge)]
    assert e == [(TP53, 1)]
    with pytest.raises(InputError, match="has no object 'model_human_full'"):
        lazyload(rdb, rdx, "model_human_full")
    # a truncated database is refused with the file named
    rdb.write_bytes(rdb.read_bytes()[:20])
    with pytest.raises(InputError, match="Rdata.rdb"):
        lazyload(rdb, rdx, "model")


# ---------------------------------------------------------------------------- MSigDB
def test_msigdb_signed_pairs():
    a = MSigDBAdapter(gmt=FX / "sets.gmt", version="T")
    a.resolver = resolver()
    recs = list(a.records(genes()))
    sets = {r.key: dict(r.props) for r in recs if isinstance(r, Node)}
    # IFN_SIGNAL_UP/_DN -> IFN_SIGNAL; GLI1_UP.V1_UP/.._DN -> GLI1_UP.V1; LONE_UP keeps its
    # name; the hallmark set is unsigned
    assert set(sets) == {"IFN_SIGNAL", "GLI1_UP.V1", "LONE_UP", "HALLMARK_P53_PATHWAY"}
    assert sets["IFN_SIGNAL"]["collection"] == "sets"
    assert sets["IFN_SIGNAL"]["description"] == "http://example.org/IFN_SIGNAL_UP"
    m = {(e.src_key, e.dst_key): e.props["sign"] for e in recs if isinstance(e, Edge)}
    assert m[(STAT1, "IFN_SIGNAL")] == 1 and m[(IRF1, "IFN_SIGNAL")] == 1
    assert m[(MDM2, "IFN_SIGNAL")] == -1
    assert m[(TP53, "IFN_SIGNAL")] == 0  # in both halves
    assert m[(CDKN1A, "GLI1_UP.V1")] == 1 and m[(BRCA1, "GLI1_UP.V1")] == -1
    assert m[(MDM2, "LONE_UP")] == 1
    # P21 is CDKN1A's alias: one membership of CDKN1A, unsigned
    assert m[(CDKN1A, "HALLMARK_P53_PATHWAY")] == 0
    assert sum(1 for k in m if k[1] == "HALLMARK_P53_PATHWAY") == 3
    s = a.stats
    assert s["signed_pairs"] == 2 and s["genes_in_both_halves"] == 1
    assert s["members_unmapped"] == 2  # NOSUCHGENE, DUPL (ambiguous)
    assert s["ambiguous_genes"] == 1 and s["unmapped_genes"] == 1 and s["renamed_genes"] == 1


def test_msigdb_bad_file(tmp_path):
    p = tmp_path / "x.gmt"
    p.write_text("A\tdesc\tTP53\nA\tdesc\tMDM2\n")
    with pytest.raises(InputError, match="x.gmt:2: gene set 'A' appears twice"):
        list(MSigDBAdapter(gmt=p).records(genes()))
    p.write_text("A\tdesc\n")
    with pytest.raises(InputError, match="x.gmt:1"):
        list(MSigDBAdapter(gmt=p).records(genes()))


def test_msigdb_real_gmts_pair_up():
    """The C2:CGP file's _UP/_DN and C6's .._UP/.._DN halves are joined."""
    c6 = MSigDBAdapter(gmt=SHARED / "msigdb_c6.all.v6.1.symbols.gmt").signed_sets()
    assert len(c6) == 189 - 90  # 189 sets, 90 pairs
    names = {n for n, _, _ in c6}
    assert "GLI1_UP.V1" in names and "GLI1_UP.V1_UP" not in names
    cgp = MSigDBAdapter(gmt=SHARED / "msigdb_c2.cgp.v7.5.1.symbols.gmt")
    sets = cgp.signed_sets()
    assert cgp.stats["signed_pairs"] > 1000 and len(sets) == 3384 - cgp.stats["signed_pairs"]


# ---------------------------------------------------------------------------- offline files
def test_offline_string_files_are_the_shared_ones(neo4j_settings):
    from grapekg.kg import defaults

    for role, name in (
        ("string.links", "string_v12_physical_min900.csv"),
        ("string.symbols", "string_v12_symbol_map.csv"),
        ("msigdb.gmt", "msigdb_c6.all.v6.1.symbols.gmt"),
    ):
        got = defaults.sha256_file(defaults.path(neo4j_settings, role))
        assert got == defaults.sha256_file(SHARED / name), role


def test_offline_progeny_equals_the_shared_table(neo4j_settings):
    """model_human_full read from the Debian package's R database, row for row."""
    from grapekg.kg import debian

    rdb = debian.fetch(neo4j_settings, "progeny.rdb")
    a = ProgenyAdapter(rdb=rdb, rdx=debian.companion_path(neo4j_settings, "progeny.rdb"))
    ours = a.model()
    ref = ProgenyAdapter(table=SHARED / "progeny_model_human_full.tsv.gz").model()
    assert len(ours) == len(ref) == 274_143
    assert [r[:2] for r in ours] == [r[:2] for r in ref]
    assert np.allclose([r[2] for r in ours], [r[2] for r in ref], rtol=1e-12, atol=0)
    assert np.allclose([r[3] for r in ours], [r[3] for r in ref], rtol=1e-12, atol=0)
    assert len({r[1] for r in ours}) == 14
    assert len(a.top_rows()) == 14 * 500


# ---------------------------------------------------------------------------- in Neo4j
def _paths(**extra):
    p = {
        "ensembl": {"table": FX / "genes.tsv"},
        "synonyms": {"hgnc": FX / "hgnc.tsv"},
        "string": {"links": FX / "links.txt", "aliases": FX / "aliases.txt"},
        "collectri": {"csv": FX / "collectri.csv"},
        "progeny": {"table": FX / "progeny.tsv"},
        "msigdb": {"gmt": FX / "sets.gmt"},
    }
    p.update(extra)
    return p


ALL = ["ensembl", "synonyms", "string", "collectri", "progeny", "msigdb"]


def test_load_all_knowledge_sources(store, neo4j_settings):
    reps = build(store, neo4j_settings, ALL, _paths(), options={"progeny": {"top": "2"}})
    by = {r.source.name: r for r in reps}
    assert by["collectri"].edges["REGULATES_EXPRESSION"] == 4
    assert by["string"].edges["INTERACTS_WITH"] == 3
    assert by["progeny"].nodes["Footprint"] == 2 and by["progeny"].edges["IN_FOOTPRINT"] == 4
    c = kg_counts(store, schema_mod.load())
    # IFN_SIGNAL 4 (STAT1, IRF1, MDM2, TP53), GLI1_UP.V1 2, LONE_UP 1, hallmark 3 (P21 = CDKN1A)
    assert c["labels"]["GeneSet"] == 4 and c["relationships"]["IN_GENE_SET"] == 10
    src = {s["name"]: s for s in c["sources"]}
    assert all(s["status"] == "complete" for s in src.values())
    assert src["progeny"]["licence"] == "Apache-2.0" and src["collectri"]["licence"] == "CC-BY-4.0"
    assert src["collectri"]["version"].startswith("collectri.csv-")
    # the resolver the build hands over knows the synonyms just loaded: P53 -> TP53
    assert '"renamed_genes": 1' in src["collectri"]["stats"]
    assert '"top": 2' in src["progeny"]["stats"]

    reg = knowledge_edges(store, "collectri")
    assert list(reg.columns) == ["src_gene_id", "dst_gene_id", "sign", "weight", "dst_kind"]
    assert {(r.src_gene_id, r.dst_gene_id, r.sign) for r in reg.itertuples()} == {
        (TP53, MDM2, 1),
        (TP53, CDKN1A, 1),
        (STAT1, IRF1, 1),
        (IRF1, TP53, -1),
    }
    ppi = knowledge_edges(store, "string")
    assert len(ppi) == 6 and set(ppi["sign"]) == {0}  # 3 pairs, both directions
    assert ppi.loc[(ppi.src_gene_id == CDKN1A) & (ppi.dst_gene_id == TP53), "weight"].item() == (
        pytest.approx(0.95)
    )
    assert len(knowledge_edges(store, "string", both_directions=False)) == 3
    fp = knowledge_edges(store, "progeny")
    assert set(fp["dst_kind"]) == {"footprint"} and len(fp) == 4
    gs = knowledge_edges(store, "msigdb")
    assert ((gs.src_gene_id == MDM2) & (gs.dst_gene_id == "IFN_SIGNAL")).sum() == 1
    with pytest.raises(ConfigError):
        knowledge_edges(store, "go")

    # the user queries answer on the loaded graph
    rows = store.read(cypher.load("tf_targets"), {"symbol": "TP53", "limit": 10})
    assert [(r["target"], r["sign"]) for r in rows] == [("CDKN1A", 1), ("MDM2", 1)]
    rows = store.read(cypher.load("gene_interactors"), {"symbol": "TP53", "limit": 10})
    assert [r["partner"] for r in rows] == ["MDM2", "CDKN1A"]  # matched without direction
    rows = store.read(cypher.load("gene_regulators"), {"symbol": "TP53", "limit": 10})
    assert [(r["regulator"], r["sign"]) for r in rows] == [("IRF1", -1)]
    rows = store.read(cypher.load("footprint_genes"), {"name": "JAK-STAT", "limit": 10})
    assert [r["gene"] for r in rows] == ["STAT1", "IRF1"]
    rows = store.read(cypher.load("gene_footprints"), {"symbol": "MDM2", "limit": 10})
    assert [(r["footprint"], r["sign"]) for r in rows] == [("p53", 1)]
    rows = store.read(cypher.load("gene_gene_sets"), {"symbol": "MDM2", "limit": 10})
    assert {(r["gene_set"], r["sign"]) for r in rows} == {
        ("IFN_SIGNAL", -1),
        ("LONE_UP", 1),
        ("HALLMARK_P53_PATHWAY", 0),
    }

    # idempotent: a second build changes no count
    build(store, neo4j_settings, ALL, _paths(), options={"progeny": {"top": "2"}})
    assert kg_counts(store, schema_mod.load())["relationships"] == c["relationships"]


def test_bad_input_leaves_the_graph_as_it_was(store, neo4j_settings, tmp_path):
    build(store, neo4j_settings, ["ensembl", "collectri"], _paths())
    before = kg_counts(store, schema_mod.load())
    bad = tmp_path / "collectri.csv"
    good = (FX / "collectri.csv").read_text().splitlines()
    bad.write_text("\n".join([*good, *good[1:4], "TP53,MDM2,2,1"]) + "\n")
    with pytest.raises(InputError) as ei:
        build(store, neo4j_settings, ["collectri"], {"collectri": {"csv": bad}})
    assert ei.value.line == 15
    assert kg_counts(store, schema_mod.load()) == before
    # without the check pass too: every adapter parses its whole file before its first record
    with pytest.raises(InputError):
        build(store, neo4j_settings, ["collectri"], {"collectri": {"csv": bad}}, check_first=False)
    assert kg_counts(store, schema_mod.load()) == before
    with pytest.raises(ConfigError, match="not being built"):
        build(store, neo4j_settings, ["collectri"], options={"string": {"min_score": "1"}})


class _Files(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **kw):
        super().__init__(*a, directory=str(FX), **kw)

    def log_message(self, *a):  # quiet
        pass


def test_online_route_downloads_by_address(store, neo4j_settings, tmp_path):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        paths = {
            "ensembl": {"table": FX / "genes.tsv"},
            "collectri": {"csv": f"{base}/collectri.csv"},
            "string": {"links": f"{base}/links.txt", "aliases": f"{base}/aliases.txt"},
        }
        reps = build(store, neo4j_settings, ["ensembl", "collectri", "string"], paths)
        by = {r.source.name: r for r in reps}
        # no synonyms loaded: the P53 rows are unmapped, so TP53->BRCA1 (+1) stands alone
        assert by["collectri"].edges["REGULATES_EXPRESSION"] == 5
        assert by["string"].edges["INTERACTS_WITH"] == 2  # P21 unknown without synonyms
        with pytest.raises(InputError, match="cannot download"):
            build(store, neo4j_settings, ["collectri"], {"collectri": {"csv": f"{base}/none"}})
    finally:
        srv.shutdown()


def test_cli_build_options_and_status(cli_env, neo4j_settings, store):
    def grape(*args):
        return subprocess.run(
            [sys.executable, "-m", "grapekg", *args],
            env=cli_env,
            capture_output=True,
            text=True,
            check=False,
        )

    r = grape(
        "kg", "build", "-s", "ensembl", "-s", "progeny", "-s", "collectri",
        "-p", f"ensembl.table={FX / 'genes.tsv'}", "-p", f"progeny.table={FX / 'progeny.tsv'}",
        "-p", f"collectri.csv={FX / 'collectri.csv'}", "-o", "progeny.top=1",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    n = store.read(cy("MATCH ()-[r:IN_FOOTPRINT]->() RETURN count(r) AS n"))[0]["n"]
    assert n == 2  # top 1 of each of the 2 pathways
    st = grape("kg", "status")
    assert (
        st.returncode == 0 and "IN_FOOTPRINT" in st.stdout and "REGULATES_EXPRESSION" in st.stdout
    )
    assert "mapped_genes=" in st.stdout and "ambiguous_genes=" in st.stdout
    js = json.loads(grape("kg", "status", "--format", "json").stdout)
    stats = {s["name"]: json.loads(s["stats"]) for s in js["sources"]}
    # without synonyms P53 is unknown: 6 names mapped, AP1 / P53 / NOSUCHGENE not, DUPL ambiguous
    assert (stats["collectri"]["mapped_genes"], stats["collectri"]["unmapped_genes"]) == (6, 3)
    assert stats["collectri"]["ambiguous_genes"] == 1
    assert js["relationships"]["IN_FOOTPRINT"] == 2
    bad = grape("kg", "build", "-s", "progeny", "-o", "progeny.nope=1")
    assert bad.returncode == 2 and "progeny.nope" in bad.stderr
    bad = grape("kg", "build", "-s", "progeny", "-o", "progeny.top")
    assert bad.returncode == 2


def test_killed_load_is_invisible_then_converges(store, neo4j_settings, monkeypatch):
    """A load killed half way (simulated: the process dies before any roll-back) leaves
    staged records the reader does not show; the next build ends with the clean counts."""
    from grapekg.kg.loader import Loader

    paths = _paths()
    build(store, neo4j_settings, ["ensembl", "synonyms", "string"], paths)
    clean = kg_counts(store, schema_mod.load())
    ppi = knowledge_edges(store, "string")
    store.wipe()
    build(store, neo4j_settings, ["ensembl", "synonyms"], paths)

    class Killed(BaseException):
        pass

    def dies(records):
        for i, r in enumerate(records):
            if i == 2:
                raise Killed
            yield r

    real_load = Loader.load
    monkeypatch.setattr(Loader, "_rollback", lambda self, src: None)
    monkeypatch.setattr(
        Loader, "load", lambda self, src, recs, adv=None: real_load(self, src, dies(recs), adv)
    )
    with pytest.raises(Killed):
        build(store, neo4j_settings, ["string"], paths, batch_size=1)
    monkeypatch.undo()
    n = store.read(cy("MATCH ()-[r:INTERACTS_WITH]->() RETURN count(r) AS n"))[0]["n"]
    assert n == 2  # two edges were written before the kill ...
    assert knowledge_edges(store, "string").empty  # ... and are not read as knowledge
    build(store, neo4j_settings, ["string"], paths)
    assert kg_counts(store, schema_mod.load()) == clean
    assert knowledge_edges(store, "string").equals(ppi)


def test_options_and_inputs_are_routed_or_refused(neo4j_settings):
    from grapekg.kg.build import make_adapter

    a = make_adapter(neo4j_settings, "string", {"links": FX / "links.txt"}, {"min_score": "950"})
    assert a.symbols.name == "gene_symbol_map.csv" and a.min_score == 950  # offline ENSP map
    d = make_adapter(neo4j_settings, "string", None, {"min_score": "900"})
    assert d.min_score == 900 and d.score_floor == 900 and d.version == "12.0-physical-900"
    with pytest.raises(ConfigError, match="takes no options"):
        make_adapter(neo4j_settings, "go", None, {"x": "1"})
    with pytest.raises(ConfigError, match="takes no options"):
        make_adapter(neo4j_settings, "reactome", {"gmt": FX / "sets.gmt"}, {"x": "1"})
    with pytest.raises(InputError, match="unknown collectri input role"):
        make_adapter(neo4j_settings, "collectri", {"tsv": FX / "collectri.csv"})
