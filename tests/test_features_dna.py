"""DNA features with a tiny ESM (6-mer vocabulary, as Nucleotide Transformer v1), k-mers."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from grapekg.app.sequences import Region, fasta_sequences
from grapekg.model.features.dna import DnaEncoder, split_windows
from grapekg.model.features.kmer import kmer_matrix, kmer_profile


@pytest.fixture(scope="module")
def tiny_esm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import EsmConfig, EsmModel, EsmTokenizer

    folder = tmp_path_factory.mktemp("tiny-nt")
    toks = [
        "<unk>",
        "<pad>",
        "<mask>",
        "<cls>",
        "<eos>",
        "<bos>",
        *("".join(p) for p in itertools.product("ACGT", repeat=6)),
        *"ACGTN",
    ]
    (folder / "vocab.txt").write_text("\n".join(toks) + "\n")
    EsmTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    torch.manual_seed(0)
    cfg = EsmConfig(
        vocab_size=len(toks),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        pad_token_id=1,
        mask_token_id=2,
        position_embedding_type="absolute",
        token_dropout=False,
    )
    EsmModel(cfg, add_pooling_layer=False).save_pretrained(folder)
    return folder


def test_split_windows() -> None:
    assert split_windows("ACGTACGTAC", 4) == ["ACGT", "ACGT", "AC"]
    assert split_windows("", 4) == []


def test_kmer_profile_exact() -> None:
    p = kmer_profile("ACGTA", k=2, normalize=False)
    expect = np.zeros(16)
    for kmer in ("AC", "CG", "GT", "TA"):
        expect["ACGT".index(kmer[0]) * 4 + "ACGT".index(kmer[1])] = 1
    np.testing.assert_array_equal(p, expect)
    # N breaks k-mers; lower case and U are read as DNA; normalised to frequencies
    q = kmer_profile("aaNaau", k=2)
    np.testing.assert_allclose(q[[0, 3]], [2 / 3, 1 / 3])
    c = kmer_profile("AC", k=2, canonical=True, normalize=False)  # AC vs revcomp GT
    assert c["ACGT".index("A") * 4 + 1] == 1 and c.sum() == 1
    x, mask = kmer_matrix(["ACGT", None, ""], k=1)
    np.testing.assert_allclose(x[0], [0.25] * 4)
    assert mask.tolist() == [True, False, False] and not x[1:].any()


def test_windowed_mean_of_first_token(tiny_esm: Path) -> None:
    seq = "ACGTAC" * 4 + "GGGCCC" * 2  # 36 nt
    enc = DnaEncoder(tiny_esm, window=12, pooling="first")
    feats, mask = enc.encode([seq, None])
    assert feats.shape == (2, 16) and mask.tolist() == [True, False]
    assert not feats[1].any()
    assert enc.windows_encoded == 3
    per_window = enc._embed_windows(split_windows(seq, 12))
    np.testing.assert_allclose(feats[0], per_window.mean(0), atol=1e-5)
    mean_pool = DnaEncoder(tiny_esm, window=12, pooling="mean").encode([seq])[0]
    assert not np.allclose(mean_pool[0], feats[0])


def test_padding_does_not_change_mean_pooling(tiny_esm: Path) -> None:
    enc = DnaEncoder(tiny_esm, window=100, pooling="mean", batch_size=4)
    both, _ = enc.encode(["ACGTACGTACGT", "ACGTAC" * 6])
    alone, _ = enc.encode(["ACGTACGTACGT"])
    np.testing.assert_allclose(both[0], alone[0], atol=1e-5)


def test_dna_cache(tiny_esm: Path, tmp_path: Path) -> None:
    a = DnaEncoder(tiny_esm, window=12, cache_dir=tmp_path)
    first, _ = a.encode(["ACGTACGTACGTAAA", "GGGCCCGGG"])
    b = DnaEncoder(tiny_esm, window=12, cache_dir=tmp_path)
    second, _ = b.encode(["acgtacgtacgtaaa", None, "GGGCCCGGG"])
    assert b.windows_encoded == 0 and b._model is None
    np.testing.assert_allclose(second[[0, 2]], first, atol=1e-6)


def test_fasta_regions(tmp_path: Path) -> None:
    fa = tmp_path / "g.fa"
    fa.write_text(">chr1\nAACCGGTTAC\n>chr2\nGGGG\n")
    seqs = fasta_sequences(
        fa,
        [
            Region("chr1", 2, 6),
            Region("chr1", 2, 6, "-"),
            Region("chrX", 0, 3),
            None,
            Region("chr2", 3, 3),
        ],
    )
    assert seqs == ["CCGG", "CCGG", None, None, None]
    assert fasta_sequences(fa, [Region("chr1", 0, 3, "-")]) == ["GTT"]


def test_named_fasta_mirbase_names_and_errors(tmp_path) -> None:
    import gzip

    from grapekg.app.sequences import mirbase_symbol, read_named_fasta
    from grapekg.errors import InputError

    assert mirbase_symbol("hsa-mir-21") == "MIR21"
    assert mirbase_symbol("hsa-let-7a-1") == "MIRLET7A1"
    assert mirbase_symbol("hsa-mir-516a-1") == "MIR516A1"
    assert mirbase_symbol("mmu-mir-21a") is None
    fa = tmp_path / "hairpin.fa.gz"
    with gzip.open(fa, "wt") as fh:
        fh.write(
            ">cel-let-7 MI0000001 C. elegans\nUACGU\n>hsa-mir-21 MI0000077 Homo sapiens\n"
            "ugucgggUAG\nCUUAUC\n>hsa-let-7a-1 MI0000060\nUGAGGUAG\n"
        )
    seqs = read_named_fasta(fa, "mirbase")
    assert seqs == {"MIR21": "TGTCGGGTAGCTTATC", "MIRLET7A1": "TGAGGTAG"}
    plain = tmp_path / "genes.fa"
    plain.write_text(">ENSG00000141510 TP53\nACGT\nNN\n>BRCA1\nGGYC\n")
    assert read_named_fasta(plain) == {"ENSG00000141510": "ACGTNN", "BRCA1": "GGNC"}
    bad = tmp_path / "bad.fa"
    bad.write_text(">A\nACGT\nAC#GT\n")
    with pytest.raises(InputError, match=r"bad\.fa:3: unexpected sequence letters"):
        read_named_fasta(bad)
    notfa = tmp_path / "x.fa"
    notfa.write_text("ACGT\n")
    with pytest.raises(InputError, match=r"x\.fa:1: not a FASTA"):
        read_named_fasta(notfa)
