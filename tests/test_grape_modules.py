"""GRAPE parts checked against hand computations (Eq. 1-17) and shapes on tiny graphs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from grapekg.model.grape import GeneGraph, GrapeConfig
from grapekg.model.grape.align import ModalityEncoder, ProjectionHead, info_nce
from grapekg.model.grape.graph import canonical_edge_types, directed_edge_types
from grapekg.model.grape.gsl import ChannelAttention, KHopStructureLearner, structure_regulariser
from grapekg.model.grape.head import GeneHead, direction_loss, recon_loss
from grapekg.model.grape.hetero import HeteroGAT, split_relations
from grapekg.model.grape.pert_channel import PerturbationChannel
from grapekg.model.grape.similarity import MultiHeadSimilarity, coalesce_undirected, topk_edges
from grapekg.perturb.simulate import synthetic_genes

RELATIONS = [("c", "cc", "c"), ("c", "cn", "nc"), ("nc", "nn", "nc")]
EDGE_TYPES = directed_edge_types(RELATIONS)


def test_config_json_roundtrip(tmp_path: Path) -> None:
    cfg = GrapeConfig(hidden=8, only_seq=True, graph_source="prior", gaussian_sigma=None)
    cfg.to_json(tmp_path / "c.json")
    assert GrapeConfig.from_json(tmp_path / "c.json") == cfg
    with pytest.raises(ValueError):
        GrapeConfig(only_seq=True, only_desc=True)
    with pytest.raises(ValueError):
        GrapeConfig.from_dict({"nope": 1})


def test_projection_head_gaussian_transform() -> None:
    torch.manual_seed(0)
    head = ProjectionHead(3, 4, sigma=0.5)
    x = torch.randn(5, 3)
    g = torch.exp(-(x**2) / (2 * 0.25))
    u = head.lin1(g)
    expect = F.layer_norm(u + head.lin2(F.gelu(u)), (4,), head.norm.weight, head.norm.bias)
    assert torch.allclose(head(x), expect, atol=1e-6)


def test_info_nce_by_hand() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    t = 0.5
    cos = torch.tensor([[1.0, 1 / math.sqrt(2)], [0.0, 1 / math.sqrt(2)]])  # D(a_i, b_j)
    row = -(torch.log_softmax(cos / t, 1).diag()).mean()
    col = -(torch.log_softmax(cos.t() / t, 1).diag()).mean()
    assert torch.allclose(info_nce(a, b, t), 0.5 * (row + col), atol=1e-6)


def test_encoder_missing_dna_uses_learned_vector() -> None:
    enc = ModalityEncoder(6, 4, 8)
    with torch.no_grad():
        enc.missing_seq.fill_(3.0)
    mask = torch.tensor([True, False, True])
    z = enc(torch.randn(3, 6), torch.randn(3, 4), mask)
    assert z["fus"].shape == (3, 8) and torch.all(z["seq"][1] == 3.0)
    assert enc.align_loss(z, mask, 0.1).ndim == 0


def test_multihead_similarity_by_hand() -> None:
    torch.manual_seed(0)
    sim = MultiHeadSimilarity(3, heads=2, out_dim=2)
    z = torch.randn(4, 3)
    w = sim.lin.weight.view(2, 2, 3)
    ei = torch.tensor([[0, 1, 2], [1, 3, 0]])
    by_hand = torch.stack(
        [
            sum(F.cosine_similarity(z[i] @ w[t].t(), z[j] @ w[t].t(), dim=0) for t in range(2)) / 2
            for i, j in ei.t().tolist()
        ]
    )
    assert torch.allclose(sim(z, ei), by_hand, atol=1e-6)


def test_topk_edges_blocks_equal_dense() -> None:
    torch.manual_seed(1)
    sim = MultiHeadSimilarity(5, heads=3)
    p = sim.project(torch.randn(23, 5)).detach()
    dense = torch.einsum("itd,jtd->ij", p, p) / 3
    dense.fill_diagonal_(-float("inf"))
    val, idx = dense.topk(4, dim=1)
    keep = val >= 0.1
    expect = coalesce_undirected(
        torch.stack([torch.arange(23)[:, None].expand_as(idx)[keep], idx[keep]]), 23
    )
    for budget in (23, 50, 10_000):  # 1 row, 2 rows, all rows per block
        assert torch.equal(topk_edges(p, 4, 0.1, budget=budget), expect)


def test_channel_attention_and_regulariser_by_hand() -> None:
    att = ChannelAttention(2, hidden=3)
    graphs = torch.tensor([[0.2, 0.4], [0.6, 1.0]])
    g, alpha = att(graphs)
    a = torch.softmax(att.mlp(graphs.mean(1)), 0)
    assert torch.allclose(alpha, a) and torch.allclose(g, a[0] * graphs[0] + a[1] * graphs[1])
    assert torch.isclose(
        structure_regulariser(torch.tensor([1.0, 0.0]), torch.tensor([0.5, 0.5])),
        torch.tensor(0.25),
    )


def test_khop_shapes() -> None:
    gsl = KHopStructureLearner(8, hops=3, heads=2)
    ei = coalesce_undirected(torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]]), 5)
    g, hs, alpha = gsl(torch.randn(5, 8), ei, torch.rand(ei.shape[1]))
    assert g.shape == (ei.shape[1],) and len(hs) == 3 and hs[0].shape == (5, 8)
    assert torch.isclose(alpha.sum(), torch.tensor(1.0))


def test_head_and_losses_by_hand() -> None:
    head = GeneHead(2, 3, shared=False)
    assert not head.weight.any() and not head.bias.any()  # zero init: output = bias
    torch.nn.init.normal_(head.weight)
    head.init_from_mean_delta(torch.tensor([0.5, -1.0]))
    p = torch.randn(4, 2, 3)
    assert torch.allclose(head(p), (p * head.weight).sum(-1) + torch.tensor([0.5, -1.0]))
    shared = GeneHead(2, 3, shared=True)
    torch.nn.init.normal_(shared.weight)
    torch.nn.init.normal_(shared.shared)
    expect = (p * (shared.weight + shared.shared)).sum(-1) + shared.bias
    assert torch.allclose(shared(p), expect, atol=1e-6)
    rows = torch.tensor([1, 0, 1])  # row form used by the incremental pass
    assert torch.allclose(shared(p[0, rows], rows), expect[0, rows], atol=1e-6)
    pred, target, ctrl = torch.tensor([0.0, 2.0]), torch.tensor([1.0, 0.0]), torch.zeros(2)
    a, b = math.tanh(1.0), math.tanh(2.0)  # |tanh diffs| = a (≤ δ=0.9) and b (> δ)
    huber = (0.5 * a**2 + 0.9 * (b - 0.45)) / 2
    assert math.isclose(float(direction_loss(pred, target, ctrl, 0.9)), huber, rel_tol=1e-6)
    loss, parts = recon_loss(pred, target, ctrl, 0.9, dir_weight=2.0)
    assert math.isclose(float(loss), 2.5 + 2 * huber, rel_tol=1e-6) and parts["mse"] == 2.5


def test_split_relations_and_hgat_shapes() -> None:
    is_c = torch.tensor([True, True, False, False])
    ei = torch.tensor([[0, 1, 0, 2, 2, 3], [1, 0, 2, 0, 3, 2]])
    rel = split_relations(ei, torch.ones(6), is_c, edge_types=EDGE_TYPES)
    assert rel[("c", "cc", "c")].edge_index.shape[1] == 2 + 2  # + self-loops
    assert rel[("c", "cn", "nc")].edge_index.tolist() == [[0], [2]]
    assert rel[("nc", "rev_cn", "c")].edge_index.tolist() == [[2], [0]]
    assert rel[("nc", "nn", "nc")].edge_attr.shape == (4, 1)
    hgat = HeteroGAT(8, heads=2, layers=2, dropout=0.0, edge_types=EDGE_TYPES)
    outs = hgat(torch.randn(3, 4, 8), rel, is_c)
    assert len(outs) == 3 and outs[-1].shape == (3, 4, 8)
    homo = HeteroGAT(8, heads=2, layers=1, homogeneous=True)
    out = homo(torch.randn(1, 4, 8), split_relations(ei, None, is_c, homogeneous=True), is_c)
    assert out[-1].shape == (1, 4, 8)


def test_gene_graph_from_table_and_dict() -> None:
    genes = synthetic_genes(12, seed=3)
    edges = genes.iloc[[0, 1, 2]][["ensembl_id"]].assign(
        src=lambda d: d.ensembl_id, dst=list(genes.ensembl_id.iloc[[5, 6, 7]])
    )
    gg = GeneGraph.from_gene_table(genes, edges, edge_types=EDGE_TYPES)
    assert gg.biotype == sorted(gg.biotype) and gg.text.shape == (12, 32)
    assert gg.edge_types == EDGE_TYPES
    assert gg.prior_edge_index().shape[1] == 6  # 3 undirected edges
    again = GeneGraph.from_dict(gg.to_dict())
    assert again.gene_ids == gg.gene_ids and torch.equal(
        again.prior_edge_index(), gg.prior_edge_index()
    )
    round2 = GeneGraph.from_heterodata(gg.prior, text=gg.text, dna=gg.dna, dna_mask=gg.dna_mask)
    assert round2.symbols == gg.symbols
    assert gg.index_of(gg.symbols[4]) == gg.index_of(gg.gene_ids[4]) == 4
    assert again.edge_types == round2.edge_types == EDGE_TYPES


def test_edge_types_are_data() -> None:
    """The model's relations come with the graph: canonical order, names looked up."""
    assert EDGE_TYPES == (
        ("c", "cc", "c"),
        ("c", "cn", "nc"),
        ("nc", "rev_cn", "c"),
        ("nc", "nn", "nc"),
    )
    assert canonical_edge_types(reversed(EDGE_TYPES)) == EDGE_TYPES
    with pytest.raises(ValueError):
        canonical_edge_types([("c", "a", "c"), ("c", "b", "c")])
    with pytest.raises(ValueError):
        HeteroGAT(8, edge_types=EDGE_TYPES[:2])  # nc -> c and nc -> nc left out
    genes = synthetic_genes(12, seed=3)
    other = directed_edge_types([("c", "pp", "c"), ("c", "px", "nc"), ("nc", "xx", "nc")])
    gg = GeneGraph.from_gene_table(genes, None, edge_types=other)
    assert gg.relation_name("nc", "c") == gg.relation_name("c", "nc") == "px"
    assert gg.relation_name("c", "c") == "pp" and gg.relation_name("nc", "nc") == "xx"
    ei = torch.tensor([[0, 11], [11, 0]])
    is_c = torch.tensor([b == "c" for b in gg.biotype])
    assert set(split_relations(ei, None, is_c, edge_types=gg.edge_types)) == set(other)


def test_topk_edges_skip_genes_without_the_modality() -> None:
    """Genes without a sequence share one 'missing' vector: they must not become seq-similar."""
    torch.manual_seed(0)
    p = F.normalize(torch.randn(30, 2, 4), dim=-1)
    p[10:] = p[10]  # 20 identical 'missing' rows: cosine 1 with each other
    valid = torch.zeros(30, dtype=torch.bool)
    valid[:10] = True
    ei = topk_edges(p, 3, -1.0, budget=50, valid=valid)
    assert ei.shape[1] > 0 and valid[ei[0]].all() and valid[ei[1]].all()
    assert (topk_edges(p, 3, -1.0, budget=50)[0] >= 10).any()  # without the mask they would


def test_perturbation_channel_by_hand() -> None:
    """U s_c with s_c = Σ_v φ(z_v): zero at init, additive over a double, zero for control."""
    torch.manual_seed(0)
    pc = PerturbationChannel(n_out=5, hidden=3)
    z = torch.randn(7, 3)
    assert torch.equal(pc(z, [[1], [2, 4], []]), torch.zeros(3, 5))  # U = 0 at init
    with torch.no_grad():
        pc.readout.copy_(torch.randn(5, 3))
    out = pc(z, [[2], [4], [2, 4], []])
    assert out.shape == (4, 5)
    assert torch.allclose(out[2], out[0] + out[1], atol=1e-6)
    assert torch.equal(out[3], torch.zeros(5))
    expect = pc.phi(z[2]) @ pc.readout.T
    assert torch.allclose(out[0], expect, atol=1e-6)
