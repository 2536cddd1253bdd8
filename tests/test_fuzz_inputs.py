"""Reliability: a source load is all or nothing; user tables are what they are; no pickle from
a user path; every error one line (rc 2 usage, rc 1 data); and a seeded fuzz of malformed
inputs of every parser (GAF, OBO, GMT, Ensembl TSV, CLI parameters): one-line error or
success, and the database unchanged on error (counts and a property fingerprint)."""

from __future__ import annotations

import hashlib
import json
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest

from grapekg.errors import ConfigError, GrapeError, InputError, cut, show
from grapekg.kg import schema as schema_mod
from grapekg.kg.build import build
from grapekg.kg.loader import Loader, kg_counts, pending_loads
from grapekg.kg.records import Node, SourceInfo
from tests.conftest import cy
from tests.test_loader import mini_paths

STAGING = {"load", "load_created"}  # bookkeeping of loads, not data


def fingerprint(store, *, staging: bool = True) -> str:
    """SHA-256 of every node's labels and properties and every relationship's type, end keys
    and properties (sorted): equal fingerprints = the same graph."""
    nodes = store.read(cy("MATCH (n) RETURN labels(n) AS l, properties(n) AS p"))
    rels = store.read(
        cy(
            "MATCH (a)-[r]->(b) RETURN type(r) AS t, properties(r) AS p, "
            "properties(a) AS a, properties(b) AS b"
        )
    )

    def clean(p: dict) -> dict:
        return {k: v for k, v in p.items() if staging or k not in STAGING}

    def key(p: dict) -> str:
        return str(p.get("ensembl_id") or p.get("id") or p.get("name")) + str(p.get("version"))

    items = sorted(
        json.dumps([sorted(r["l"]), clean(r["p"])], default=str, sort_keys=True) for r in nodes
    )
    items += sorted(
        json.dumps([r["t"], key(r["a"]), key(r["b"]), clean(r["p"])], default=str, sort_keys=True)
        for r in rels
    )
    return hashlib.sha256("\n".join(items).encode()).hexdigest()


def snapshot(store, **kw) -> tuple:
    c = kg_counts(store, schema_mod.load())
    return (c["labels"], c["relationships"], fingerprint(store, **kw))


def one_line(exc: BaseException) -> None:
    msg = str(exc)
    assert "\n" not in msg and 0 < len(msg) <= 400, msg[:200]


# ------------------------------------------------------------------ item 2: all or nothing
def test_failed_same_version_reload_leaves_the_complete_source_exactly(
    store, neo4j_settings, kg_fixtures, tmp_path
):
    paths = mini_paths(kg_fixtures)
    build(store, neo4j_settings, ["ensembl", "go"], paths, batch_size=3)
    before = snapshot(store)
    lines = (kg_fixtures / "mini.gaf").read_text().splitlines()
    bad = tmp_path / "bad.gaf"
    bad.write_text("\n".join([*lines, "UniProtKB\tP04637\tTP53"]) + "\n")  # bad LAST line
    paths["go"]["gaf"] = bad
    with pytest.raises(InputError) as ei:
        build(store, neo4j_settings, ["go"], paths, batch_size=2)
    one_line(ei.value)
    assert snapshot(store) == before  # counts, Source record (status, url, retrieved) and all
    src = store.read(cy("MATCH (s:Source {name:'go'}) RETURN s.status AS st, s.url AS url"))
    assert (
        src == [{"st": "complete", "url": str(kg_fixtures / "mini.obo")}]
        or src[0]["st"] == "complete"
    )


def test_write_failure_midway_rolls_back_what_the_load_created(store, neo4j_settings, kg_fixtures):
    """Without the parse pass (records failing after batches were written): the nodes the
    load created go, the earlier complete record of the source stays."""
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    before = snapshot(store, staging=False)
    src = SourceInfo("ensembl", "100-GRCh38", "x")

    def records():
        for i in range(25):
            yield Node("Gene", f"ENSG{90000000000 + i:011d}", {"symbol": f"NEW{i}"}, src.key)
        raise InputError("genes.tsv", "bad value", line=26)

    with pytest.raises(InputError):
        Loader(store, schema_mod.load(), batch_size=5).load(src, records())
    assert snapshot(store, staging=False) == before


def test_good_reload_removes_junk_of_a_killed_load(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    before = snapshot(store, staging=False)
    # a killed load: junk stamped with the source key, an attempt node left 'loading'
    from grapekg.kg.adapters.ensembl import EnsemblAdapter

    src = EnsemblAdapter(table=kg_fixtures / "genes.tsv").source()
    ld = Loader(store, schema_mod.load())
    ld._begin(src)
    store.write(
        schema_mod.load().node_merge("Gene"),
        {"rows": [{"key": "ENSG09999999999", "props": {}, "source": src.key}], "load": ld.load_id},
    )
    # readers that must see complete sources only skip what unfinished loads created
    pending = pending_loads(store)
    assert pending == [ld.load_id]
    visible = store.read(
        cy(
            "MATCH (g:Gene) WHERE NOT coalesce(g.load_created, '') IN $pending RETURN count(g) AS n"
        ),
        {"pending": pending},
    )[0]["n"]
    assert visible == before[0]["Gene"]
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    assert snapshot(store, staging=False)[:2] == before[:2]
    st = store.read(cy("MATCH (s:Source) RETURN s.status AS st"))
    assert {r["st"] for r in st} == {"complete"}


# ------------------------------------------------------------------ items 3 and 4
def test_user_table_is_recorded_as_itself_and_keeps_other_properties(
    store, neo4j_settings, kg_fixtures, tmp_path
):
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    store.write(
        cy("MATCH (g:Gene) WITH g LIMIT 1 SET g.uniprot_ids = ['P1'] RETURN g.ensembl_id AS e")
    )
    gid = store.read(cy("MATCH (g:Gene) WHERE g.uniprot_ids = ['P1'] RETURN g.ensembl_id AS e"))[0][
        "e"
    ]
    t = tmp_path / "genes.tsv"
    t.write_text(f"ensembl_id\tsymbol\tbiotype\n{gid}\tRENAMED\tprotein_coding\n")
    build(store, neo4j_settings, ["ensembl"], {"ensembl": {"table": t}})
    g = store.read(
        cy("MATCH (g:Gene {ensembl_id: $e}) RETURN g.symbol AS s, g.uniprot_ids AS u"), {"e": gid}
    )
    assert g == [{"s": "RENAMED", "u": ["P1"]}]
    versions = {
        r["v"] for r in store.read(cy("MATCH (s:Source {name:'ensembl'}) RETURN s.version AS v"))
    }
    # both user tables recorded as what they are (file name + SHA-256), none as Ensembl 100
    assert len(versions) == 2 and "100-GRCh38" not in versions
    assert all(v.startswith("genes.tsv-") for v in versions)


def test_user_pickle_is_refused(store, neo4j_settings, tmp_path):
    evil = tmp_path / "x.pkl"
    marker = tmp_path / "ran"
    import pickle

    class Boom:
        def __reduce__(self):
            return (Path.touch, (marker,))

    evil.write_bytes(pickle.dumps(Boom()))
    before = snapshot(store)
    with pytest.raises(InputError, match="pickle"):
        build(store, neo4j_settings, ["ensembl"], {"ensembl": {"table": evil}})
    assert not marker.exists()
    assert snapshot(store) == before


# ------------------------------------------------------------------ items 5 and 8: one line
def grape(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "grapekg", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("args", "rc"),
    [
        (["nosuch"], 2),
        (["kg", "--bogus"], 2),
        (["kg", "build", "--batch-size", "3"], 2),
        (["query", "gene_go_terms", "-p", "limit=99999999999999999999999"], 2),
        (["query", "gene_go_terms", "-p", "=x"], 2),
        (["kg", "status", "--format", "yaml"], 2),
        (["runs", "list", "--format", "xml"], 2),
        # grape train: bounds and --set checked before any work (no run folder)
        (["train", "--dataset", "d", "--device", "tpu"], 2),
        (["train", "--dataset", "d", "--lr", "inf"], 2),
        (["train", "--dataset", "d", "--lr", "nan"], 2),
        (["train", "--dataset", "d", "--lr", "-1"], 2),
        (["train", "--dataset", "d", "--heads", "1000"], 2),
        (["train", "--dataset", "d", "--hidden", "2048", "--heads", "8"], 2),
        (["train", "--dataset", "d", "--set", "hidden=32"], 2),
        (["train", "--dataset", "d", "--set", "sim_top_k=3"], 2),
        (["train", "--dataset", "d", "--set", "top_k=-5"], 2),
        (["train", "--dataset", "d", "--set", "gat_layers=1e9"], 2),
        (["train", "--dataset", "d", "--model", "biodsnn", "--set", "lr=inf"], 2),
    ],
)
def test_usage_errors_are_one_line_rc2(cli_env, args, rc):
    p = grape(cli_env, *args)
    assert p.returncode == rc, p.stderr
    err = p.stderr.strip()
    assert err.count("\n") == 0 and "Traceback" not in err and err.startswith("error:"), err


def test_data_errors_are_one_line_rc1(cli_env, tmp_path, store):
    p = grape(cli_env, "kg", "build", "-s", "ensembl", "-p", f"ensembl.table={tmp_path}")
    assert p.returncode in (1, 2) and "Traceback" not in p.stderr
    assert p.stderr.strip().count("\n") == 0, p.stderr
    big = tmp_path / "big.tsv"
    big.write_text("ensembl_id\tbiotype\n" + "ENSG" + "9" * 2_000_000 + "\tprotein_coding\n")
    p = grape(cli_env, "kg", "build", "-s", "ensembl", "-p", f"ensembl.table={big}")
    assert p.returncode == 1 and len(p.stderr) < 600 and f"{big}:2" in p.stderr, p.stderr[:300]


def test_messages_cut_values_and_show_plain_strings():
    import numpy as np

    assert show(np.str_("ABC")) == "'ABC'"
    assert show(np.int64(3)) == "3"
    assert len(cut("x" * 10_000_000)) <= 80
    assert len(str(InputError("f.tsv", "bad " + "y" * 10_000_000, 3))) <= 400
    assert ConfigError("x").exit_code == 2 and InputError("f", "m").exit_code == 1


def test_option_checks_fail_before_side_effects():
    from grapekg.cli.common import check_device, check_input_file, check_int, parse_seeds

    with pytest.raises(ConfigError, match="--device"):
        check_device("tpu")
    with pytest.raises(ConfigError, match="--seeds"):
        parse_seeds("-3..-1")
    with pytest.raises(ConfigError, match="--seeds"):
        parse_seeds("5..1")
    assert parse_seeds("1..3") == [1, 2, 3] and parse_seeds("4,7") == [4, 7]
    with pytest.raises(ConfigError, match="--epochs"):
        check_int("--epochs", 0, minimum=1)
    with pytest.raises(ConfigError, match="directory"):
        check_input_file("--file", Path("/"))


# ------------------------------------------------------------------ the fuzz
def _mutations(text: str, rng: random.Random, n: int) -> list[str]:
    """``n`` seeded malformed variants of a text file: a line truncated, a column dropped or
    added, a field replaced by junk (binary, huge, empty, tabs), lines duplicated or removed,
    the header broken."""
    lines = text.splitlines()
    junk = ["", "\t", "\x00\xff", "NaN", "-1", "9" * 40, "x" * 5000, "é", "GO:", "ENSG1", "\\"]
    out = []
    for _ in range(n):
        ls = list(lines)
        i = rng.randrange(len(ls))
        op = rng.randrange(7)
        if op == 0:
            ls[i] = ls[i][: rng.randrange(len(ls[i]) + 1)]
        elif op == 1:
            cols = ls[i].split("\t")
            cols.pop(rng.randrange(len(cols)))
            ls[i] = "\t".join(cols)
        elif op == 2:
            ls[i] += "\t" + rng.choice(junk)
        elif op == 3:
            cols = ls[i].split("\t")
            cols[rng.randrange(len(cols))] = rng.choice(junk)
            ls[i] = "\t".join(cols)
        elif op == 4:
            ls.insert(i, ls[i])
        elif op == 5:
            del ls[i]
        else:
            ls[0] = rng.choice(junk)
        out.append("\n".join(ls) + ("\n" if rng.random() < 0.8 else ""))
    return out


FUZZ_PER_FILE = 30  # x 5 files, + the CLI parameters below


def test_fuzz_kg_inputs(store, neo4j_settings, kg_fixtures, tmp_path):
    rng = random.Random(14)
    paths = mini_paths(kg_fixtures)
    build(store, neo4j_settings, ["ensembl", "go", "reactome"], paths)
    targets = [
        ("ensembl", "table", "genes.tsv"),
        ("go", "gaf", "mini.gaf"),
        ("go", "obo", "mini.obo"),
        ("reactome", "gmt", "mini.gmt"),
        ("reactome", "relations", "relations.txt"),
    ]
    tried = errors = 0
    state = snapshot(store)
    for src, role, name in targets:
        text = (kg_fixtures / name).read_text()
        for k, variant in enumerate(_mutations(text, rng, FUZZ_PER_FILE)):
            f = tmp_path / f"{k}_{name}"
            f.write_bytes(variant.encode("utf-8", "surrogateescape"))
            p = {s: dict(v) for s, v in paths.items()}
            p[src][role] = f
            tried += 1
            try:
                build(store, neo4j_settings, [src], {src: p[src]})
            except GrapeError as exc:
                errors += 1
                one_line(exc)
                assert snapshot(store) == state, f"{name} variant {k}: database changed"
            else:
                state = snapshot(store)
            f.unlink()
    print(f"fuzz: {tried} KG inputs, {errors} one-line errors")
    assert tried == FUZZ_PER_FILE * len(targets) and errors > 0


def test_fuzz_cli_parameters():
    from grapekg.cli.common import parse_seeds
    from grapekg.cli.kg import _parse_paths
    from grapekg.cli.query import parse_param

    rng = random.Random(9)
    alphabet = "ab=.,-_01239 \t\x00é[]{}\"'"
    tried = 0
    for _ in range(150):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        if rng.random() < 0.1:
            s = s + "9" * 30
        for fn in (parse_param, parse_seeds, lambda x: _parse_paths([x])):
            tried += 1
            try:
                fn(s)
            except ConfigError as exc:
                one_line(exc)
    print(f"fuzz: {tried} CLI parameter values")
    assert tried == 450


# ------------------------------------------- h5ad files, train options, export paths (fuzz)
_H5AD_FUZZ = """
import json, os, random, sys
from grapekg.perturb.errors import DataError
from grapekg.perturb.summaries import summarise_h5ad
good, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(good, "rb").read()
rng = random.Random(25)
out = {"ok": 0, "errors": 0, "bad": []}
for k in range(n):
    op = k % 5
    if op == 0:  # cut short anywhere
        b = data[: rng.randrange(len(data))]
    elif op == 1:  # junk in front of the signature
        b = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 600))) + data
    elif op == 2:  # a text or CSV file renamed
        b = rng.choice([b"condition,TP53\\nctrl,1\\n", b"hello\\n", b"", b"\\x89HDF\\r\\n"])
    elif op == 3:  # the signature, then junk
        b = data[:8] + os.urandom(rng.randrange(0, 5000))
    else:  # the tail zeroed (a copy that stopped writing)
        cut = rng.randrange(len(data))
        b = data[:cut] + bytes(len(data) - cut)
    with open(work, "wb") as f:
        f.write(b)
    try:
        summarise_h5ad(work)
        out["ok"] += 1
    except DataError as exc:
        msg = str(exc)
        if "\\n" in msg or len(msg) > 400 or not msg.startswith(work):
            out["bad"].append(msg[:200])
        out["errors"] += 1
    except Exception as exc:  # noqa: BLE001
        out["bad"].append(f"{type(exc).__name__}: {str(exc)[:200]}")
print(json.dumps(out))
"""

H5AD_FUZZ = 40


def test_fuzz_h5ad_files(tmp_path):
    """Seeded damaged .h5ad files (cut short, junk in front, text renamed, junk after the
    signature, tail zeroed): a one-line DataError naming the file or success, never another
    exception. Run in a child process: the HDF5 C library is not ours to crash."""
    import anndata as ad
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    conds = ["ctrl"] * 4 + ["TP53+ctrl"] * 3 + ["BRCA1+ctrl"] * 3
    x = np.log1p(np.random.default_rng(0).poisson(3.0, size=(10, 4))).astype(np.float32)
    good = tmp_path / "good.h5ad"
    ad.AnnData(  # SYNTHETIC
        X=sp.csr_matrix(x),
        obs=pd.DataFrame({"condition": conds}, index=[f"c{i}" for i in range(10)]),
        var=pd.DataFrame({"gene_name": list("ABCD")}, index=list("wxyz")),
    ).write_h5ad(good)
    p = subprocess.run(
        [sys.executable, "-c", _H5AD_FUZZ, str(good), str(tmp_path / "f.h5ad"), str(H5AD_FUZZ)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    res = json.loads(p.stdout.strip().splitlines()[-1])
    print(f"fuzz: {H5AD_FUZZ} damaged h5ad files, {res['errors']} one-line errors")
    assert res["bad"] == [] and res["ok"] + res["errors"] == H5AD_FUZZ and res["errors"] > 30


def test_fuzz_train_options():
    """Seeded option values and ``--set`` pairs (nan, inf, negatives, huge numbers, option
    names, junk): a one-line ConfigError naming the option, or accepted; never another
    exception, and never a "did you mean" for a key that is an option."""
    from grapekg.app import bounds

    rng = random.Random(11)
    numbers = ["nan", "inf", "-inf", "-5", "0", "1", "3", "1e-3", "1e9", "2048", "0.5", "-0.0"]
    keys = [*bounds.GRAPE_BOUNDS, *bounds.GRAPE_OPTION_KEYS, "top_k", "bogus", ""]
    tried = errors = 0

    def pick(key: str) -> float | int | None:
        if rng.random() < 0.2:
            return None  # left to the model's default
        v = float(rng.choice(numbers))
        if key == "lr":
            return v
        return int(v) if math.isfinite(v) else None

    for _ in range(300):
        model = rng.choice(["grape", "biodsnn"])
        opts = {k: pick(k) for k in ("epochs", "hidden", "heads", "top_k", "batch_size", "lr")}
        pair = f"{rng.choice(keys)}={rng.choice(numbers + ['x', 'true', 'none'])}"
        for fn, args in (
            (bounds.check_options, (model, opts)),
            (bounds.check_set_pairs, (model, [pair])),
        ):
            tried += 1
            try:
                fn(*args)
            except ConfigError as exc:
                errors += 1
                one_line(exc)
                assert "did you mean" not in str(exc)
    print(f"fuzz: {tried} train options, {errors} one-line errors")
    assert tried == 600 and errors > 100


def test_fuzz_export_paths(tmp_path):
    """Export targets: the data folder and folders under it, non-empty folders, existing
    files, paths under a file, with and without --overwrite: refused with one line or
    accepted, and nothing in the data folder is ever accepted."""
    from grapekg.app.export import check_out

    data = tmp_path / "data"
    (data / "datasets" / "d").mkdir(parents=True)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    (tmp_path / "file.pt").write_text("x")
    targets = [
        data, data / "datasets", data / "datasets" / "d", data / "new" / "deeper.pt",
        tmp_path / "full", tmp_path / "file.pt", tmp_path / "file.pt" / "under.pt",
        tmp_path / "new_dir", tmp_path / "new.pt", tmp_path / "." / "data" / ".." / "data",
    ]  # fmt: skip
    accepted = 0
    for out in targets:
        for fmt in ("pyg", "dgl", "npz"):
            for overwrite in (False, True):
                try:
                    check_out(out, fmt, overwrite=overwrite, protected=(data,))
                except GrapeError as exc:
                    one_line(exc)
                    continue
                accepted += 1
                assert data.resolve() not in [out.resolve(), *out.resolve().parents]
    assert accepted > 0


def test_fuzz_writeback_files(store, neo4j_settings, kg_fixtures, tmp_path):
    """Run files and edge tables: a list, ``metrics`` a string, a directory, junk JSON, edge
    CSVs with a column gone or junk values: one-line error or success, nothing half-written."""
    import pandas as pd

    from grapekg.app.export import writeback_files
    from tests.test_learned_queries import RUN1_EDGES

    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    rng = random.Random(3)
    good_edges = tmp_path / "edges.csv"
    pd.DataFrame(RUN1_EDGES).to_csv(good_edges, index=False)
    good = {"id": "rf", "model": "grape", "seed": 3, "metrics": {"mse": 0.1}}
    runs = [
        [good],
        dict(good, metrics="0.1"),
        dict(good, seed="three"),
        dict(good, seed=True),
        dict(good, id=["x"]),
        dict(good, id=""),
        dict(good, extra=1),
        "just a string",
        None,
        dict(good, id="x" * 5000, metrics=[1, 2]),
    ]
    edge_texts = _mutations(good_edges.read_text().replace(",", "\t"), rng, 20)
    tried = errors = 0
    state = snapshot(store)
    cases = [(json.dumps(r), good_edges) for r in runs]
    cases += [("{not json", good_edges), ("", good_edges)]
    for k, t in enumerate(edge_texts):
        f = tmp_path / f"e{k}.tsv"
        f.write_text(t)
        cases.append((json.dumps(dict(good, id=f"r{k}")), f))
    cases.append((json.dumps(good), tmp_path))  # a directory as the edges file
    for k, (run_text, edges) in enumerate(cases):
        rf = tmp_path / f"run{k}.json"
        rf.write_text(run_text)
        tried += 1
        try:
            writeback_files(store, rf, edges)
        except GrapeError as exc:
            errors += 1
            one_line(exc)
            assert snapshot(store) == state, f"case {k}: database changed"
        else:
            state = snapshot(store)
    with pytest.raises(InputError, match="is a directory"):
        writeback_files(store, tmp_path, None)
    print(f"fuzz: {tried} write-back inputs, {errors} one-line errors")
    assert errors >= 10


def test_kg_status_and_runs_machine_readable(cli_env, store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    p = grape(cli_env, "kg", "status", "--format", "json")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["labels"]["Gene"] == 8 and data["sources"][0]["status"] == "complete"
    p = grape(cli_env, "kg", "status", "--format", "csv")
    assert p.stdout.splitlines()[0] == "kind,name,count" and "label,Gene,8" in p.stdout
    p = grape(cli_env, "runs", "list", "--format", "json")
    # the graph was wiped: no run in it (run folders other tests of the session left in the
    # shared data folder are listed too, as stored in "folder" only)
    assert p.returncode == 0, p.stderr
    assert [r for r in json.loads(p.stdout) if "graph" in str(r.get("stored", "graph"))] == []
