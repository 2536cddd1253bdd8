"""Adapters on small real-format fixtures, and on broken files: each must fail with one
InputError naming the file and the line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from grapekg.errors import InputError
from grapekg.kg.adapters.ensembl import EnsemblAdapter
from grapekg.kg.adapters.go import GOAdapter
from grapekg.kg.adapters.reactome import ReactomeAdapter, _levels
from grapekg.kg.genes import GeneIndex
from grapekg.kg.records import Edge, Node


def genes_of(fx: Path) -> GeneIndex:
    recs = list(EnsemblAdapter(table=fx / "genes.tsv").records())
    return GeneIndex.from_rows([{"ensembl_id": r.key, **r.props} for r in recs])


def test_ensembl_tsv(kg_fixtures):
    a = EnsemblAdapter(table=kg_fixtures / "genes.tsv")
    recs = list(a.records())
    assert all(isinstance(r, Node) and r.label == "Gene" for r in recs)
    by = {r.key: r.props for r in recs}
    assert by["ENSG00000141510"]["biotype_class"] == "c"
    assert by["ENSG00000229807"]["biotype_class"] == "nc"
    assert by["ENSG00000141510"]["length"] == 7687538 - 7661779 + 1
    assert by["ENSG00000141510"]["uniprot_ids"] == ["P04637", "K7PPA8"]
    assert a.stats["genes_c"] == 5 and a.stats["genes_nc"] == 3
    # a user table is recorded as what it is (file name + SHA-256), never as Ensembl 100
    assert all(r.source.startswith("ensembl@genes.tsv-") for r in recs)


def test_ensembl_gtf_with_descriptions(kg_fixtures):
    a = EnsemblAdapter(gtf=kg_fixtures / "mini.gtf", descriptions=kg_fixtures / "descriptions.tsv")
    recs = {r.key: r.props for r in a.records()}
    assert set(recs) == {"ENSG00000284332", "ENSG00000141510"}  # version suffix stripped
    assert recs["ENSG00000141510"]["chrom"] == "17"
    assert recs["ENSG00000141510"]["description"] == "tumor protein p53"
    assert recs["ENSG00000284332"]["biotype_class"] == "nc"


def test_go_terms_edges_annotations(kg_fixtures):
    a = GOAdapter(obo=kg_fixtures / "mini.obo", gaf=kg_fixtures / "mini.gaf")
    recs = list(a.records(genes_of(kg_fixtures)))
    terms = [r for r in recs if isinstance(r, Node)]
    edges = [r for r in recs if isinstance(r, Edge)]
    assert len(terms) == 8 and a.stats["obsolete_terms_skipped"] == 1
    # every node comes before every edge (terms may be referenced before they are defined)
    assert max(i for i, r in enumerate(recs) if isinstance(r, Node)) < min(
        i for i, r in enumerate(recs) if isinstance(r, Edge)
    )
    reg = [e for e in edges if e.type == "REGULATES"]
    assert {e.props["direction"] for e in reg} == {"unspecified", "positive"}
    assert [e for e in edges if e.type == "PART_OF"][0].dst_key == "GO:0005634"
    ann = {(e.src_key, e.dst_key): e.props["evidence"] for e in edges if e.type == "ANNOTATED_WITH"}
    assert ann[("ENSG00000141510", "GO:0006281")] == ["IDA", "IMP"]
    assert ("ENSG00000012048", "GO:0006281") in ann  # alt_id GO:0000001 -> primary id
    assert a.stats["annotations_negated_skipped"] == 1
    # Q99999 maps neither by UniProt nor symbol; A0A000 maps by symbol fallback (CDKN1A)
    assert a.stats["unmapped_gaf_proteins"] == 1
    assert ("ENSG00000124762", "GO:0005634") in ann
    assert a.source().version == "2020-01-01"


def test_reactome_gmt(kg_fixtures):
    a = ReactomeAdapter(
        gmt=kg_fixtures / "mini.gmt", relations=kg_fixtures / "relations.txt", version="T"
    )
    recs = list(a.records(genes_of(kg_fixtures)))
    pw = {r.key: r.props for r in recs if isinstance(r, Node)}
    assert set(pw) == {"R-HSA-1", "R-HSA-2", "R-HSA-3", "R-HSA-4"}
    assert pw["R-HSA-1"]["level"] == 1 and pw["R-HSA-2"]["level"] == 2
    members = {
        (e.src_key, e.dst_key) for e in recs if isinstance(e, Edge) and e.type == "IN_PATHWAY"
    }
    assert ("ENSG00000229807", "R-HSA-3") in members  # member given as a symbol
    assert ("ENSG00000012048", "R-HSA-1") in members  # isoform accession P38398-1
    assert a.stats["non_gene_members_skipped"] == 1
    assert a.stats["unmapped_member_ids"] == 1
    child = [(e.src_key, e.dst_key) for e in recs if isinstance(e, Edge) and e.type == "CHILD_OF"]
    assert sorted(child) == [("R-HSA-2", "R-HSA-1"), ("R-HSA-3", "R-HSA-4")]


def test_reactome_ensembl2reactome(tmp_path, kg_fixtures):
    f = tmp_path / "Ensembl2Reactome.txt"
    f.write_text(
        "ENSG00000141510\tR-HSA-1\thttps://x\tDNA Repair\tTAS\tHomo sapiens\n"
        "ENSG00000141510.3\tR-HSA-3\thttps://x\tApoptosis\tTAS\tHomo sapiens\n"
        "ENSMUSG00000059552\tR-MMU-1\thttps://x\tDNA Repair\tTAS\tMus musculus\n"
        "ENSG00000000000\tR-HSA-3\thttps://x\tApoptosis\tTAS\tHomo sapiens\n"
    )
    a = ReactomeAdapter(ensembl2reactome=f)
    recs = list(a.records(genes_of(kg_fixtures)))
    assert {r.key for r in recs if isinstance(r, Node)} == {"R-HSA-1", "R-HSA-3"}
    assert a.stats["members_unmapped"] == 1


def test_levels_take_shortest_route():
    assert _levels({"b": ["a"], "c": ["b", "a"]}) == {"a": 1, "b": 2, "c": 2}


# ---------------------------------------------------------------------- broken inputs
def _expect(exc_info: pytest.ExceptionInfo[InputError], path: Path, line: int | None) -> None:
    assert exc_info.value.path == str(path)
    assert exc_info.value.line == line
    assert str(path) in str(exc_info.value)
    assert "\n" not in str(exc_info.value)


def test_empty_files_fail(tmp_path, kg_fixtures):
    empty = tmp_path / "empty.obo"
    empty.write_text("")
    with pytest.raises(InputError, match="empty") as ei:
        list(GOAdapter(obo=empty).records())
    _expect(ei, empty, None)
    empty_gmt = tmp_path / "e.gmt"
    empty_gmt.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        list(ReactomeAdapter(gmt=empty_gmt).records(genes_of(kg_fixtures)))


def test_wrong_column_count(tmp_path, kg_fixtures):
    bad = tmp_path / "genes.tsv"
    lines = (kg_fixtures / "genes.tsv").read_text().splitlines()
    lines[3] = lines[3].rsplit("\t", 2)[0]
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="columns") as ei:
        list(EnsemblAdapter(table=bad).records())
    _expect(ei, bad, 4)

    gaf = tmp_path / "bad.gaf"
    src = (kg_fixtures / "mini.gaf").read_text().splitlines()
    src[5] = "\t".join(src[5].split("\t")[:10])
    gaf.write_text("\n".join(src) + "\n")
    with pytest.raises(InputError, match="columns") as ei:
        list(GOAdapter(obo=kg_fixtures / "mini.obo", gaf=gaf).records(genes_of(kg_fixtures)))
    _expect(ei, gaf, 6)

    gtf = tmp_path / "bad.gtf"
    gtf.write_text('1\tensembl\tgene\t1\t2\t.\t+\tgene_id "ENSG00000000001";\n')
    with pytest.raises(InputError, match="columns") as ei:
        list(EnsemblAdapter(gtf=gtf).records())
    _expect(ei, gtf, 1)

    rel = tmp_path / "rel.txt"
    rel.write_text("R-HSA-1\tR-HSA-2\nR-HSA-1\n")
    with pytest.raises(InputError) as ei:
        list(
            ReactomeAdapter(gmt=kg_fixtures / "mini.gmt", relations=rel).records(
                genes_of(kg_fixtures)
            )
        )
    _expect(ei, rel, 2)

    gmt = tmp_path / "bad.gmt"
    gmt.write_text("R-HSA-1\tDNA Repair\tP04637\nonly-one-column\n")
    with pytest.raises(InputError) as ei:
        list(ReactomeAdapter(gmt=gmt).records(genes_of(kg_fixtures)))
    _expect(ei, gmt, 2)


def test_wrong_encoding(tmp_path, kg_fixtures):
    obo = tmp_path / "latin1.obo"
    text = (kg_fixtures / "mini.obo").read_text().replace("nuclear lumen", "nucléar lumen")
    obo.write_bytes(text.encode("latin-1"))
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "nucléar" in ln)
    with pytest.raises(InputError, match="UTF-8") as ei:
        list(GOAdapter(obo=obo).records())
    _expect(ei, obo, line)


def test_truncated_gzip(tmp_path, kg_fixtures):
    full = gzip.compress((kg_fixtures / "mini.gaf").read_bytes() * 50)
    gaf = tmp_path / "trunc.gaf.gz"
    gaf.write_bytes(full[: len(full) // 2])
    with pytest.raises(InputError, match="truncated") as ei:
        list(GOAdapter(obo=kg_fixtures / "mini.obo", gaf=gaf).records(genes_of(kg_fixtures)))
    assert ei.value.path == str(gaf) and ei.value.line is not None


def test_malformed_obo_values(tmp_path, kg_fixtures):
    obo = tmp_path / "bad.obo"
    obo.write_text("[Term]\nid: GO:123\nname: x\n")
    with pytest.raises(InputError, match="not a GO id") as ei:
        list(GOAdapter(obo=obo).records())
    _expect(ei, obo, 2)
    obo.write_text("[Term]\nid: GO:0000001\nname x\n")
    with pytest.raises(InputError, match="tag: value") as ei:
        list(GOAdapter(obo=obo).records())
    _expect(ei, obo, 3)


def test_bad_integer_and_id(tmp_path):
    t = tmp_path / "g.tsv"
    t.write_text("ensembl_id\tbiotype\tstart\nENSG00000000001\tprotein_coding\tabc\n")
    with pytest.raises(InputError, match="integer") as ei:
        list(EnsemblAdapter(table=t).records())
    _expect(ei, t, 2)
    t.write_text("ensembl_id\tbiotype\nTP53\tprotein_coding\n")
    with pytest.raises(InputError, match="Ensembl gene id") as ei:
        list(EnsemblAdapter(table=t).records())
    _expect(ei, t, 2)
    t.write_text("ensembl_id\tbogus\nENSG00000000001\tx\n")
    with pytest.raises(InputError, match="header") as ei:
        list(EnsemblAdapter(table=t).records())
