"""GRAPE's label model (:mod:`grapekg.model.grape.labels`) behind the fit / predict protocol
of the label baselines (:mod:`grapekg.evaluation.label_baselines`), so the benchmark and the
label datasets of ``grape labels import`` score it exactly as they score the baselines.

What the knowledge graph knows, per source (``sets``: source -> key -> set, as
:func:`grapekg.kg.export.gene_sets.knowledge_sets` reads them; ``signed``: source -> edges):

- ``go``: GO annotations; a relation from each node to its ``go_neighbours`` most similar
  nodes by Jaccard of their annotations, and the Jaccard between perturbations;
- ``string``: STRING physical partners; the links among the nodes as a relation, and the
  Jaccard of the closed neighbourhoods between perturbations;
- signed edges (e.g. CollecTRI activation / repression): each a relation, both directions,
  and the Jaccard of the regulator / target sets between perturbations.

Node features: a truncated SVD of the nodes' GO / STRING incidence (the ``kg-embedding`` of
the label baselines) and a flag for nodes the KG knows nothing of. The graph's nodes are the
keys of the sets and of the training pairs; a perturbation first seen at prediction joins as
a node without edges (the encoder is inductive), so it is predicted from its knowledge alone.

Selection: a seeded ``val_fraction`` of the training perturbations is held out of the fit
and picks the epoch (validation AUC per gene, the start included), then predictions retrieve
from every training perturbation. Test labels are never given to ``fit``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from grapekg.evaluation.label_baselines import jaccard_similarity, kg_embedding
from grapekg.evaluation.label_metrics import score_labels
from grapekg.model.grape.labels import LabelConfig, LabelData, fit_label_model, predict_pairs
from grapekg.parquet import read_parquet

__all__ = ["GrapeLabels", "top_k_jaccard_edges"]


def top_k_jaccard_edges(sets: Mapping[str, Iterable[str]], nodes: list[str], k: int) -> np.ndarray:
    """Edges ``[2, E]`` from each node to its ``k`` most Jaccard-similar nodes (similarity > 0),
    both directions, in blocks of rows so memory stays O(block x N)."""
    terms = sorted({t for n in nodes for t in sets.get(n, ())})
    if not terms or k < 1 or len(nodes) < 2:
        return np.zeros((2, 0), dtype=np.int64)
    ti = {t: i for i, t in enumerate(terms)}
    rows = [i for i, n in enumerate(nodes) for _ in sets.get(n, ())]
    cols = [ti[t] for n in nodes for t in sets.get(n, ())]
    a = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(nodes), len(terms)))
    deg = np.asarray(a.sum(1)).ravel()
    kk = min(k, len(nodes) - 1)
    src, dst = [], []
    for lo in range(0, len(nodes), 1024):
        inter = (a[lo : lo + 1024] @ a.T).toarray()
        union = deg[lo : lo + 1024, None] + deg[None, :] - inter
        jac = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
        jac[np.arange(jac.shape[0]), np.arange(lo, lo + jac.shape[0])] = 0.0
        top = np.argpartition(-jac, kk - 1, axis=1)[:, :kk]
        r = np.repeat(np.arange(jac.shape[0]), kk)
        c = top.ravel()
        keep = jac[r, c] > 0
        src.append(lo + r[keep])
        dst.append(c[keep])
    s, d = np.concatenate(src), np.concatenate(dst)
    return np.unique(np.stack([np.r_[s, d], np.r_[d, s]]).astype(np.int64), axis=1)


class GrapeLabels:
    """fit(pert, gene, label) / predict(pert, gene) over gene keys (module docstring)."""

    def __init__(
        self,
        sets: Mapping[str, Mapping[str, Iterable[str]]],
        *,
        signed: Mapping[str, Iterable[tuple[str, str]]] | None = None,
        config: LabelConfig | None = None,
        seed: int = 0,
        val_fraction: float = 0.1,
        go_neighbours: int = 10,
        embedding_dim: int = 64,
        device: str = "cpu",
        progress: Callable[[int, dict], None] | None = None,
    ) -> None:
        if not 0.0 < val_fraction < 1.0:
            raise ValueError("val_fraction must be in (0, 1): the epoch is chosen on it")
        self.sets = {k: {str(g): set(v) for g, v in s.items() if v} for k, s in sets.items()}
        self.signed = {k: [(str(a), str(b)) for a, b in e] for k, e in (signed or {}).items()}
        for name, edges in self.signed.items():  # regulators / targets as sets, for similarity
            reg: dict[str, set[str]] = {}
            for a, b in edges:
                reg.setdefault(a, set()).add(f"target:{b}")
                reg.setdefault(b, set()).add(f"regulator:{a}")
            self.sets.setdefault(name, reg)
        self.sets = {k: v for k, v in self.sets.items() if v}
        self.cfg = replace(config or LabelConfig(), seed=seed)
        self.seed, self.val_fraction = seed, val_fraction
        self.go_neighbours, self.embedding_dim = go_neighbours, embedding_dim
        self.device, self.progress = device, progress

    # ------------------------------------------------------------------ graph
    def _graph(self, keys: Iterable[str]) -> None:
        """Nodes, features and relations over the set keys and ``keys``."""
        nodes = sorted({*keys, *(g for s in self.sets.values() for g in s)})
        self.nodes, self.nid = nodes, {n: i for i, n in enumerate(nodes)}
        emb_src = {k: v for k, v in self.sets.items() if k in ("go", "string")}
        emb = kg_embedding(emb_src, nodes, self.embedding_dim, seed=self.seed) if emb_src else {}
        x = np.zeros((len(nodes), self.embedding_dim + 1), dtype=np.float32)
        for i, n in enumerate(nodes):
            if n in emb:
                x[i, : self.embedding_dim] = emb[n]
            else:
                x[i, self.embedding_dim] = 1.0
        self.x = x
        rel: dict[str, np.ndarray] = {}
        if "go" in self.sets:
            rel["go"] = top_k_jaccard_edges(self.sets["go"], nodes, self.go_neighbours)
        if "string" in self.sets:
            pairs = [
                (self.nid[a], self.nid[b])
                for a, nb in self.sets["string"].items()
                for b in nb
                if b in self.nid and a != b
            ]
            if pairs:
                rel["string"] = np.unique(np.array(pairs, dtype=np.int64).T, axis=1)
        for name, edges in self.signed.items():
            e = [(self.nid[a], self.nid[b]) for a, b in edges if a in self.nid and b in self.nid]
            if e:
                arr = np.array(e, dtype=np.int64).T
                rel[name] = np.unique(np.concatenate([arr, arr[::-1]], axis=1), axis=1)
        self.relations = {k: v for k, v in rel.items() if v.shape[1]}

    def _data(self, perts: list[str], y: np.ndarray, mask: np.ndarray) -> LabelData:
        new = [p for p in perts if p not in self.nid]
        x, nid = self.x, self.nid
        if new:  # perturbations the KG knows nothing of: isolated nodes, 'unknown' flag
            extra = np.zeros((len(new), x.shape[1]), dtype=np.float32)
            extra[:, -1] = 1.0
            x = np.vstack([x, extra])
            nid = {**nid, **{p: len(self.nodes) + i for i, p in enumerate(new)}}
        sim = {
            s: jaccard_similarity(perts, perts, v, closed=s == "string")
            for s, v in self.sets.items()
        }
        for m in sim.values():
            np.fill_diagonal(m, 0.0)
        return LabelData(
            x=x,
            is_coding=np.ones(x.shape[0], dtype=bool),
            relations=self.relations,
            pert_nodes=np.array([nid[p] for p in perts]),
            gene_nodes=np.array([nid[g] for g in self.genes]),
            similarity=sim,
            y=y,
            mask=mask,
        )

    # ------------------------------------------------------------------ protocol
    def fit(self, pert, gene, label, val_perts: Iterable[str] | None = None) -> GrapeLabels:
        """Train on the pairs; ``val_perts`` (perturbations among them) pick the epoch, else
        the seeded ``val_fraction`` of the training perturbations."""
        t0 = time.perf_counter()
        p = np.asarray(pert, dtype=object).astype(str)
        g = np.asarray(gene, dtype=object).astype(str)
        y = np.asarray(label, dtype=np.float32)
        if not (len(p) == len(g) == len(y)) or len(y) == 0:
            raise ValueError("pert, gene and label must be non-empty and of one length")
        self.train_perts = sorted(set(p))
        self.genes = sorted(set(g))
        self._graph([*self.train_perts, *self.genes])
        pi = {q: i for i, q in enumerate(self.train_perts)}
        gi = {q: i for i, q in enumerate(self.genes)}
        self.y = np.zeros((len(self.train_perts), len(self.genes)), dtype=np.float32)
        self.mask = np.zeros_like(self.y)
        r, c = np.array([pi[q] for q in p]), np.array([gi[q] for q in g])
        self.y[r, c], self.mask[r, c] = y, 1.0
        n = len(self.train_perts)
        if val_perts is not None:
            val = np.array(sorted({pi[str(q)] for q in val_perts if str(q) in pi}), dtype=int)
            if len(val) == 0 or len(val) == n:
                raise ValueError("val_perts must name some, not all, training perturbations")
        else:
            k = min(max(round(self.val_fraction * n), 1), n - 1)
            val = np.sort(np.random.default_rng(self.seed).choice(n, size=k, replace=False))
        fit = np.setdiff1d(np.arange(n), val)
        data = self._data(self.train_perts, self.y, self.mask)

        def val_auc(pred: np.ndarray, rows: np.ndarray) -> float:
            m = data.mask[rows] > 0
            return score_labels(np.nonzero(m)[1], data.y[rows][m], pred[m]).auc

        self.model, self.history = fit_label_model(
            data,
            fit,
            val,
            self.cfg,
            device=self.device,
            score_val=val_auc,
            progress=self.progress,
        )
        self.seconds_fit = time.perf_counter() - t0
        return self

    def predict(self, pert, gene) -> np.ndarray:
        p = np.asarray(pert, dtype=object).astype(str)
        g = np.asarray(gene, dtype=object).astype(str)
        queries = sorted(set(p) - set(self.train_perts))
        perts = [*self.train_perts, *queries]
        y = np.vstack([self.y, np.zeros((len(queries), len(self.genes)), dtype=np.float32)])
        mask = np.vstack([self.mask, np.zeros_like(y[len(self.train_perts) :])])
        data = self._data(perts, y, mask)
        pool = np.arange(len(self.train_perts))
        pi = {q: i for i, q in enumerate(perts)}
        qrows = np.array(sorted({pi[q] for q in p}))
        pred = predict_pairs(self.model, data, qrows, pool, device=self.device)
        qi = {int(r): i for i, r in enumerate(qrows)}
        gi = {q: i for i, q in enumerate(self.genes)}
        rate = pd.Series(
            (self.mask * self.y).sum(0) / np.maximum(self.mask.sum(0), 1), index=self.genes
        )
        out = np.full(len(p), float(rate.mean()))
        known = np.array([x in gi for x in g], dtype=bool)
        out[known] = pred[[qi[pi[q]] for q in p[known]], [gi[x] for x in g[known]]]
        return out

    def add_knowledge(self, sets: Mapping[str, Mapping[str, Iterable[str]]]) -> None:
        """Add the sets of genes the model has not seen (their similarity to the training
        perturbations then drives their prediction); sets of known keys stay as trained."""
        for src, d in sets.items():
            if src in self.sets:
                for k, v in d.items():
                    if str(k) not in self.sets[src] and v:
                        self.sets[src][str(k)] = {str(x) for x in v}

    # ------------------------------------------------------------------ persistence
    def save(self, folder: Path) -> None:
        """``model.pt`` (state dict), ``label_state.npz`` (graph, features, training labels),
        ``label_sets.parquet`` (the knowledge sets, for the similarity of new queries) and
        ``label_config.json``: everything :meth:`load` needs, no pickle."""
        import torch

        folder.mkdir(parents=True, exist_ok=True)
        torch.save(self.model.state_dict(), folder / "model.pt")
        np.savez_compressed(
            folder / "label_state.npz",
            x=self.x,
            y=self.y,
            mask=self.mask,
            nodes=np.array(self.nodes, dtype=str),
            train_perts=np.array(self.train_perts, dtype=str),
            genes=np.array(self.genes, dtype=str),
            **{f"rel__{k}": v for k, v in self.relations.items()},
        )
        rows = [(s, k, str(i)) for s, d in self.sets.items() for k, v in d.items() for i in v]
        pd.DataFrame(rows, columns=["source", "key", "item"]).to_parquet(
            folder / "label_sets.parquet", index=False
        )
        (folder / "label_config.json").write_text(
            json.dumps(
                {
                    "config": self.cfg.to_dict(),
                    "seed": self.seed,
                    "sources": sorted(self.model.sources),
                    "relations": sorted(self.relations),
                    "history": self.history,
                },
                indent=1,
            )
        )

    @classmethod
    def load(cls, folder: Path, device: str = "cpu") -> GrapeLabels:
        """A model saved by :meth:`save` (weights loaded with ``weights_only=True``)."""
        import torch

        from grapekg.model.grape.labels import LabelModel

        meta = json.loads((folder / "label_config.json").read_text())
        cfg_d = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["config"].items()}
        sets_df = read_parquet(folder / "label_sets.parquet")
        sets: dict[str, dict[str, set[str]]] = {}
        for s, k, i in sets_df.itertuples(index=False):
            sets.setdefault(s, {}).setdefault(k, set()).add(i)
        self = cls(sets, config=LabelConfig(**cfg_d), seed=int(meta["seed"]), device=device)
        st = np.load(folder / "label_state.npz", allow_pickle=False)
        self.x, self.y, self.mask = st["x"], st["y"], st["mask"]
        self.nodes = [str(n) for n in st["nodes"]]
        self.nid = {n: i for i, n in enumerate(self.nodes)}
        self.train_perts = [str(n) for n in st["train_perts"]]
        self.genes = [str(n) for n in st["genes"]]
        self.relations = {k[5:]: st[k] for k in st.files if k.startswith("rel__")}
        self.history = meta.get("history", {})
        model = LabelModel(
            self.x.shape[1], self.cfg, sorted(self.relations), meta["sources"], len(self.genes)
        )
        model.load_state_dict(torch.load(folder / "model.pt", weights_only=True))
        self.model = model.to(device).eval()
        return self

    def learned(self) -> dict:
        """What training set: the source weights, the attention weight, the retrieval scale,
        the epoch kept."""
        import torch.nn.functional as F

        m = self.model
        return {
            "source_weights": {
                s: round(float(F.softplus(b.detach())), 4)
                for s, b in zip(m.sources, m.beta, strict=True)
            },
            "attention_weight": round(float(F.softplus(m.gamma.detach())), 4),
            "retrieval_scale": round(float(m.a.detach()), 4),
            "best_epoch": self.history.get("best_epoch"),
            "relations": sorted(self.relations),
        }
