"""Text features with a tiny randomly initialised BERT built offline in a temp folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from grapekg.model.features.cache import EmbeddingCache
from grapekg.model.features.text import TextEncoder, enrich_description, pool_hidden

WORDS = [
    "gene",
    "kinase",
    "protein",
    "binding",
    "cell",
    "cycle",
    "dna",
    "repair",
    "rna",
    "transport",
    "receptor",
    "signal",
    "go",
    "biological",
    "process",
    "reactome",
    "pathways",
    "apoptosis",
    "a",
    "b",
    "of",
    "the",
    "and",
]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", ":", ";", *WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    BertModel(cfg).save_pretrained(folder)
    return folder


def test_pool_hidden_mean_ignores_padding_and_cls_takes_first() -> None:
    h = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    m = torch.tensor([[1, 1, 0]])
    assert torch.allclose(pool_hidden(h, m, "mean"), torch.tensor([[2.0, 3.0]]))
    assert torch.allclose(pool_hidden(h, m, "cls"), torch.tensor([[1.0, 2.0]]))
    with pytest.raises(ValueError):
        pool_hidden(h, m, "max")


def test_enrich_description() -> None:
    text = enrich_description(
        "DNA repair protein.", ["dna repair", "cell cycle", "dna repair"], ["apoptosis"]
    )
    assert text == (
        "DNA repair protein. GO biological process: cell cycle; dna repair. "
        "Reactome pathways: apoptosis."
    )
    assert enrich_description(None, [], []) == ""


def test_encoder_padding_invariant_and_pooling(tiny_bert: Path) -> None:
    enc = TextEncoder(tiny_bert, pooling="mean", batch_size=8)
    short, long = "kinase", "protein binding of the cell cycle and dna repair"
    together = enc.encode([short, long])
    alone = enc.encode([short])
    assert together.shape == (2, 16) and together.dtype == np.float32
    # masked mean: the padded short text gives the same vector as alone
    np.testing.assert_allclose(together[0], alone[0], atol=1e-5)
    cls = TextEncoder(tiny_bert, pooling="cls").encode([short])
    assert not np.allclose(cls, alone)


def test_cache_second_call_hits(tiny_bert: Path, tmp_path: Path) -> None:
    texts = ["gene kinase", "rna transport", "gene kinase"]
    enc = TextEncoder(tiny_bert, cache_dir=tmp_path)
    first = enc.encode(texts)
    calls = enc.forward_calls
    assert calls == 1
    again = TextEncoder(tiny_bert, cache_dir=tmp_path)
    second = again.encode(texts)
    assert again.forward_calls == 0 and again._model is None  # served from disk
    assert again.cache is not None and again.cache.hits == 3
    np.testing.assert_allclose(first, second, atol=1e-6)
    # another pooling is another model id: no shared entries
    other = TextEncoder(tiny_bert, pooling="cls", cache_dir=tmp_path)
    other.encode(texts[:1])
    assert other.forward_calls == 1


def test_embedding_cache_keys(tmp_path: Path) -> None:
    c = EmbeddingCache(tmp_path, "m1")
    c.put(["a", "b"], np.array([[1.0, 2.0], [3.0, 4.0]]))
    rows, missing = EmbeddingCache(tmp_path, "m1").get(["b", "z"])
    assert missing == [1] and rows[1] is None
    np.testing.assert_array_equal(rows[0], [3.0, 4.0])
    assert EmbeddingCache(tmp_path, "m2").get(["a"])[1] == [0]
