"""What a trained GRAPE model has learned, as gene-gene edge tables for the write-back.

- ``similar_to``: per modality m, the candidate pairs whose multi-head cosine similarity
  S^m_ij (Eq. 4-5) passes the sparsity threshold ε^m (Eq. 3); score = S^m_ij.
- ``khop_link``: pairs kept by the K-hop structure learner, 𝔾_ij ≥ ε (Eq. 9-10);
  score = 𝔾_ij, k = K.
- ``predicted_regulates``: in-silico knock-downs. For a regulator r (a gene perturbed in the
  dataset), the predicted change of gene t is Δ_rt = ŷ_t(r) − μ_t (Eq. 13); the ``top``
  targets by |Δ_rt| become edges r → t with score Δ_rt, the relation of their biotype classes
  among the graph's edge types (:meth:`GeneGraph.relation_name
  <grapekg.model.grape.graph.GeneGraph.relation_name>`, e.g. cc / cn / nn; GRAPE's relations
  are undirected), and ``attention`` = the GATv2 attention of the edge r → t averaged over
  heads and layers on the unperturbed pass (Eq. 11), or null when r → t is not an edge.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from grapekg.model.grape.graph import GeneGraph
from grapekg.model.grape.model import GrapeModel
from grapekg.model.grape.train import perturbed_indices, predict_with


@torch.no_grad()
def representations(model: GrapeModel, graph: GeneGraph) -> tuple[np.ndarray, np.ndarray]:
    """(input features: text, else Z_fus; final HGAT representations P^(L) of the
    unperturbed pass), ``[N, d]`` each in global gene order (the report's Fig. 3)."""
    model.eval()
    z = model.encode()
    state = model.graph_state(z)
    after = model.hgat(model.hgat_input(z)[None], state.relations, model.is_coding)[-1][0].numpy()
    before = (graph.text if graph.text is not None else z["fus"]).numpy()
    return before, after


@torch.no_grad()
def attention_map(model: GrapeModel) -> dict[tuple[int, int], float]:
    """(src, dst) global indices -> GATv2 attention averaged over heads and layers."""
    model.eval()
    z = model.encode()
    state = model.graph_state(z)
    hg = model.hgat
    xs = hg(model.hgat_input(z)[None], state.relations, model.is_coding)
    types = hg.type_index(model.is_coding)
    local = torch.empty(model.num_genes, dtype=torch.long)
    for idx in types.values():
        local[idx] = torch.arange(idx.shape[0])
    acc: dict[tuple[int, int], list[float]] = {}
    for layer, conv in enumerate(hg.layers):
        x = xs[layer][0]
        for et in hg.edge_types:
            rel = state.relations[et]
            if rel.edge_index.shape[1] == 0:
                continue
            gat = conv.convs[et]
            e = torch.stack([local[rel.edge_index[0]], local[rel.edge_index[1]]])
            src_x, dst_x = x[types[et[0]]], x[types[et[2]]]
            kw = {"edge_attr": rel.edge_attr} if rel.edge_attr is not None and gat.edge_dim else {}
            _, (ei, alpha) = gat((src_x, dst_x), e, return_attention_weights=True, **kw)
            a = alpha.mean(dim=1).tolist()
            gs = types[et[0]][ei[0]].tolist()
            gd = types[et[2]][ei[1]].tolist()
            for s, d, v in zip(gs, gd, a, strict=True):
                if s != d:
                    acc.setdefault((s, d), []).append(v)
    return {k: float(np.mean(v)) for k, v in acc.items()}


@torch.no_grad()
def learned_edges(
    model: GrapeModel,
    graph: GeneGraph,
    regulators: Sequence[str],
    gene_ids: Sequence[str],
    top: int = 20,
) -> pd.DataFrame:
    """Edge table (src, dst, type, score, modality, k, relation, attention) in Ensembl ids;
    ``regulators`` are condition-free gene symbols; ``gene_ids`` the output (expression)
    genes in the order of the model's head."""
    model.eval()
    ids = graph.gene_ids
    rows: list[dict] = []
    z = model.encode()
    cand = model.candidates
    if cand.shape[1] == 0:
        cand = model.refresh_candidates()
    if cand.shape[1]:
        for m in model.modalities:
            s = model.modality_scores(z, m, cand)
            keep = (s >= model.eps[m]) & (cand[0] != cand[1])
            for a, b, v in zip(
                cand[0][keep].tolist(), cand[1][keep].tolist(), s[keep].tolist(), strict=True
            ):
                rows.append(
                    {"src": ids[a], "dst": ids[b], "type": "similar_to", "score": v, "modality": m}
                )
        if model.gsl is not None:
            g_agg = model._aggregate(z, cand)
            g, _, _ = model.gsl(z["fus"], cand, g_agg)
            keep = (g >= model.config.gsl_threshold) & (cand[0] != cand[1])
            for a, b, v in zip(
                cand[0][keep].tolist(), cand[1][keep].tolist(), g[keep].tolist(), strict=True
            ):
                rows.append(
                    {
                        "src": ids[a],
                        "dst": ids[b],
                        "type": "khop_link",
                        "score": v,
                        "k": model.config.gsl_hops,
                    }
                )
    att = attention_map(model)
    regs = [r for r in dict.fromkeys(regulators) if r in graph]  # symbols, ids, aliases
    if regs:
        pred = predict_with(model, perturbed_indices(graph, [f"{r}+ctrl" for r in regs]))
        ctrl = model.ctrl.cpu().numpy()
        out_idx = model.out_index.cpu().numpy()
        for r, p in zip(regs, pred, strict=True):
            delta = p - ctrl
            ri = graph.index_of(r)
            order = np.argsort(-np.abs(delta))
            order = [j for j in order if out_idx[j] != ri][:top]
            for j in order:
                t = int(out_idx[j])
                rel = graph.relation_name(graph.biotype[ri], graph.biotype[t])
                rows.append(
                    {
                        "src": ids[ri],
                        "dst": ids[t],
                        "type": "predicted_regulates",
                        "score": float(delta[j]),
                        "relation": rel,
                        "attention": att.get((ri, t)),
                    }
                )
    return pd.DataFrame(
        rows, columns=["src", "dst", "type", "score", "modality", "k", "relation", "attention"]
    )
