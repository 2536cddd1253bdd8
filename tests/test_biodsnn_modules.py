"""BioDSNN modules on tiny inputs: masked attention against a dense masked softmax, the VAE's
gradients and KL by hand, the differentiable direction term, graphs and the mask."""

from __future__ import annotations

import math

import numpy as np
import torch

from grapekg.model.biodsnn.graphs import (
    attention_mask,
    coexpression_graph,
    pathway_pairs,
    unmasked_pairs,
)
from grapekg.model.biodsnn.loss import autofocus_loss, direction_loss
from grapekg.model.biodsnn.masked_attention import (
    MaskedMultiheadAttention,
    dense_masked_attention,
    sparse_attention,
)
from grapekg.model.biodsnn.vae import ExpressionVAE, kl_divergence


def _allowed(g: int) -> torch.Tensor:
    allowed = torch.eye(g, dtype=torch.bool)
    for i, j in [(0, 1), (1, 0), (0, 3), (2, 4), (4, 2), (3, 2), (4, 0)]:
        allowed[i, j] = True  # query i may attend to key j
    return allowed


def test_sparse_attention_equals_dense_masked_softmax_by_hand():
    torch.manual_seed(0)
    b, g, h, d = 2, 5, 3, 4
    q, k, v = (torch.randn(b, g, h, d, dtype=torch.float64) for _ in range(3))
    allowed = _allowed(g)
    qi, kj = torch.nonzero(allowed, as_tuple=True)
    edge_index = torch.stack([kj, qi])  # (key, query)
    out, alpha = sparse_attention(q, k, v, edge_index, g)
    dense = dense_masked_attention(q, k, v, allowed)
    assert torch.allclose(out, dense, atol=1e-12)
    # by hand for one query / head: softmax over its allowed keys only
    bi, i, hh = 1, 0, 2
    keys = [j for j in range(g) if allowed[i, j]]
    s = torch.tensor([float((q[bi, i, hh] * k[bi, j, hh]).sum()) / math.sqrt(d) for j in keys])
    w = torch.softmax(s, 0).double()
    expect = sum(w[n] * v[bi, j, hh] for n, j in enumerate(keys))
    assert torch.allclose(out[bi, i, hh], expect, atol=1e-12)
    # alpha sums to one per query and head
    per_query = torch.zeros(b, g, h, dtype=torch.float64).index_add_(1, edge_index[1], alpha)
    assert torch.allclose(per_query, torch.ones_like(per_query))


def test_module_gradients_match_dense():
    torch.manual_seed(1)
    g, hidden, heads = 6, 8, 2
    allowed = _allowed(g)
    allowed[5, 1] = True
    qi, kj = torch.nonzero(allowed, as_tuple=True)
    ei = torch.stack([kj, qi])
    att = MaskedMultiheadAttention(hidden, heads).double()
    x = torch.randn(3, g, hidden, dtype=torch.float64, requires_grad=True)
    y = att(x, ei)
    q, k, v = att.project(x)
    ref = att.out(dense_masked_attention(q, k, v, allowed).reshape(x.shape))
    assert torch.allclose(y, ref, atol=1e-12)
    (gy,) = torch.autograd.grad(y.square().sum(), x)
    (gr,) = torch.autograd.grad(ref.square().sum(), x)
    assert torch.allclose(gy, gr, atol=1e-10)
    att.checkpoint = True
    att.train()
    assert torch.allclose(att(x, ei), y, atol=1e-12)


def test_kl_by_hand():
    mu = torch.tensor([[0.5, -1.0], [0.0, 2.0]])
    logvar = torch.tensor([[0.0, math.log(0.5)], [math.log(2.0), 0.0]])
    rows = []
    for m, lv in zip(mu.tolist(), logvar.tolist(), strict=True):
        rows.append(sum(-0.5 * (1 + b - a * a - math.exp(b)) for a, b in zip(m, lv, strict=True)))
    assert abs(float(kl_divergence(mu, logvar)) - sum(rows) / 2) < 1e-6
    assert float(kl_divergence(torch.zeros(3, 4), torch.zeros(3, 4))) == 0.0


def test_vae_parameters_get_gradients_and_change():
    torch.manual_seed(0)
    keep = torch.tensor([1, 1, 0, 1, 1, 1, 0, 1], dtype=torch.float32)
    vae = ExpressionVAE(8, [16, 4], 3, keep)
    names = [n for n, _ in vae.named_parameters()]
    assert any(n.startswith("encoder") for n in names) and any("decoder" in n for n in names)
    before = {n: p.detach().clone() for n, p in vae.named_parameters()}
    opt = torch.optim.Adam(vae.parameters(), lr=1e-2)
    x = torch.rand(5, 8) * keep
    recon, mu, logvar = vae(x)
    assert recon.shape == (5, 8) and mu.shape == (5, 3)
    assert torch.all(recon[:, keep == 0] == 0)  # only the control's non-zero genes regenerate
    loss = ((recon - x) ** 2).mean() + kl_divergence(mu, logvar)
    loss.backward()
    for n, p in vae.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), n
    opt.step()
    changed = [n for n, p in vae.named_parameters() if not torch.equal(before[n], p.detach())]
    assert set(changed) == set(names)
    vae.eval()
    assert torch.equal(vae(x)[0], vae(x)[0])  # eval: posterior mean, deterministic


def test_direction_term_has_gradient_and_autofocus_power():
    ctrl = torch.zeros(1, 4)
    target = torch.tensor([[1.0, -1.0, 0.5, -0.2]])
    pred = torch.tensor([[-0.1, 0.2, 0.3, -0.3]], requires_grad=True)
    keep = torch.ones(1, 4)
    (grad,) = torch.autograd.grad(direction_loss(pred, target, ctrl, keep, k=5.0), pred)
    assert grad.abs().sum() > 0 and grad[0, 0] < 0 and grad[0, 1] > 0  # pushes towards the sign
    with torch.no_grad():
        af = autofocus_loss(pred, target, keep, gamma=2.0)
    assert abs(float(af) - float(((pred - target) ** 4).mean())) < 1e-7
    half = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    with torch.no_grad():
        af_half = autofocus_loss(pred, target, half, gamma=2.0)
    assert abs(float(af_half) - float(((pred - target)[0, :2] ** 4).mean())) < 1e-7


def test_coexpression_graph_gears_rules():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(200, 1))
    x = np.hstack([base, base + 0.01 * rng.normal(size=(200, 1)), rng.normal(size=(200, 3))])
    x = np.hstack([x, np.ones((200, 1))])  # a constant gene
    ei, w = coexpression_graph(x, top_k=2, threshold=0.4)
    pairs = {(int(a), int(b)) for a, b in ei.t().tolist()}
    assert (1, 0) in pairs and (0, 1) in pairs and (0, 0) in pairs  # self kept, as GEARS
    assert all(v > 0.4 for v in w.tolist())
    assert not any(a == 5 and b != 5 for a, b in pairs)  # constant gene: no neighbours
    assert max(sum(1 for _, b in pairs if b == g) for g in range(6)) <= 3  # top_k + 1


def test_mask_union_and_no_mask():
    pw = pathway_pairs([[0, 1, 2], [2, 3], [4]], 6)
    assert {(int(a), int(b)) for a, b in pw.T} == {
        (0, 1),
        (1, 0),
        (0, 2),
        (2, 0),
        (1, 2),
        (2, 1),
        (2, 3),
        (3, 2),
    }
    coexpr = torch.tensor([[5], [4]])
    m = attention_mask(pw, coexpr, 6)
    got = {(int(a), int(b)) for a, b in m.t().tolist()}
    assert {(g, g) for g in range(6)} <= got and (5, 4) in got and (4, 5) not in got
    assert len(got) == m.shape[1]  # unique
    assert unmasked_pairs(4, 10, 2).shape[1] == 16
    few = unmasked_pairs(50, 10, 3, seed=0)
    assert few.shape[1] <= 50 * 4 and torch.equal(few, unmasked_pairs(50, 10, 3, seed=0))
