"""GRAPE for labelled (perturbation, gene) pairs: does knocking down p move gene g, and which way.

The label task (PerturbQA) asks, for a perturbation p never seen in training, which of the
downstream genes g it moves. Pure torch / PyG; inputs are arrays, indices and relation edge
lists; nothing here knows where they came from.

Encoder: GRAPE's residual multi-head GATv2 layer (Eq. 11),

.. math::
    P^{(l+1)}_v = \\mathrm{LN}\\Big(P^{(l)}_v + \\mathrm{ELU}\\big(\\frac{1}{|R|}\\sum_{r \\in R}
    \\frac{1}{H}\\sum_{h=1}^{H} \\mathrm{GATv2}^h_r(\\mathbb{E}_r, P^{(l)})_v\\big)\\Big),

with one relation r per knowledge source (GO, Reactome, STRING, CollecTRI activation, CollecTRI
repression, ...) in place of the biotype-class relations, over gene nodes whose input
P^{(0)} = W x_v + e_{class(v)} is a projection of the gene's feature (the text embedding of
Eq. 2's description modality) plus a learned c / nc class embedding.

Head: a retrieval over the training perturbations whose weights the graph learns, plus a
bilinear term,

.. math::
    w(p, t) = \\sum_s \\mathrm{sp}(\\beta_s)\\, S_s[p, t]
        + \\mathrm{sp}(\\gamma)\\, |T|\\, \\mathrm{softmax}_{t}\\big(
          \\langle Q h_p, K h_t \\rangle / \\sqrt{d}\\big), \\quad t \\in T, t \\neq p

    \\hat r(p, g) = \\frac{\\sum_{t} w(p, t)\\, m(t, g)\\, y(t, g) + \\kappa \\pi_g}
                        {\\sum_{t} w(p, t)\\, m(t, g) + \\kappa}

    \\mathrm{logit}(p, g) = a \\cdot \\mathrm{logit}(\\hat r(p, g))
        + \\langle U h_p, V h_g \\rangle + c_g

T = the training perturbations (a query never retrieves itself, so training sees what an unseen
perturbation sees), S_s = the KG similarity of source s between perturbations (e.g. Jaccard of
GO annotations) with a learned weight sp(β_s) (sp = softplus; each starts at 1), the second
term a learned attention over the graph embeddings (its weight sp(γ) starts near 0),
m(t, g) = 1 where the pair is labelled, y its label, π_g the gene's training rate, κ > 0 learned
(how far a gene with little retrieved evidence stays at its rate), c_g a per-gene bias (it cannot
change a per-gene ranking; it calibrates P). So training starts from the similarity-weighted
retrieval of the training labels (the ``kg-retrieval`` baseline with every source weighted 1)
and the epoch kept is chosen on validation perturbations, the start included: what the graph
network adds is what it learns beyond that retrieval. Loss: binary cross-entropy over the
labelled pairs of the query perturbations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GATv2Conv, HeteroConv

__all__ = [
    "LabelConfig",
    "LabelData",
    "LabelModel",
    "fit_label_model",
    "predict_pairs",
]

NODE = "g"


@dataclass
class LabelConfig:
    """Settings of :class:`LabelModel` and its training (:func:`fit_label_model`). The defaults
    (width, learning rate, epochs, the listwise term) were chosen on a development split of
    PerturbQA K562's *training* perturbations (a fifth held out of the fit), never its test."""

    hidden: int = 32
    heads: int = 2
    layers: int = 2
    dropout: float = 0.1
    lr: float = 3e-3
    weight_decay: float = 1e-4
    epochs: int = 4
    batch: int = 256
    kappa_init: float = 1.0
    #: starting weight sp(γ) of the learned attention term (0 < value)
    attention_init: float = 0.01
    patience: int = 2
    seed: int = 0
    #: "bce": binary cross-entropy over the labelled pairs; "bce+list": plus, per gene, the
    #: listwise softmax loss over the batch's perturbations (the per-gene ranking the AUC scores)
    loss: str = "bce+list"
    #: which head terms are on: "retrieval" (α-weighted labels), "bilinear" (⟨U h_p, V h_g⟩)
    terms: tuple[str, ...] = ("retrieval", "bilinear")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass
class LabelData:
    """One label dataset in array form.

    ``x`` ``[N, q]`` node features; ``is_coding`` ``[N]`` bool; ``relations`` maps a source name
    to its edges ``[2, E]`` (global node indices; both directions where the relation is
    symmetric); ``pert_nodes`` ``[P]`` node index of each perturbation; ``gene_nodes`` ``[G]`` node
    index of each downstream gene; ``similarity`` maps a source name to ``[P, P]`` perturbation
    similarity; ``y`` ``[P, G]`` labels and ``mask`` ``[P, G]`` where a label exists (any split).
    """

    x: np.ndarray
    is_coding: np.ndarray
    relations: dict[str, np.ndarray]
    pert_nodes: np.ndarray
    gene_nodes: np.ndarray
    similarity: dict[str, np.ndarray]
    y: np.ndarray
    mask: np.ndarray
    extra: dict = field(default_factory=dict)


class KnowledgeGAT(nn.Module):
    """L layers of Eq. 11 with one GATv2 relation per knowledge source (mean over relations)."""

    def __init__(self, in_dim: int, cfg: LabelConfig, relations: Sequence[str]) -> None:
        super().__init__()
        self.relations = tuple(relations)
        self.proj = nn.Linear(in_dim, cfg.hidden)
        self.cls = nn.Embedding(2, cfg.hidden)
        self.dropout = cfg.dropout
        self.convs = nn.ModuleList(
            HeteroConv(
                {
                    (NODE, r, NODE): GATv2Conv(
                        cfg.hidden,
                        cfg.hidden,
                        heads=cfg.heads,
                        concat=False,
                        dropout=cfg.dropout,
                        add_self_loops=True,
                    )
                    for r in self.relations
                },
                aggr="mean",
            )
            for _ in range(cfg.layers if self.relations else 0)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(cfg.hidden) for _ in self.convs)

    def forward(self, x: Tensor, is_coding: Tensor, edges: dict[str, Tensor]) -> Tensor:
        h = self.proj(x) + self.cls(is_coding.long())
        ei = {(NODE, r, NODE): edges[r] for r in self.relations}
        for conv, norm in zip(self.convs, self.norms, strict=True):
            out = conv({NODE: h}, ei)[NODE]
            h = norm(h + F.dropout(F.elu(out), p=self.dropout, training=self.training))
        return h


class LabelModel(nn.Module):
    """Encoder + retrieval / bilinear head (module docstring). ``forward`` scores every
    downstream gene for the query perturbations ``queries`` (indices into the perturbations)
    against the pool ``pool`` (indices of the perturbations whose labels may be retrieved)."""

    def __init__(
        self,
        in_dim: int,
        cfg: LabelConfig,
        relations: Sequence[str],
        sources: Sequence[str],
        n_genes: int,
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.sources = tuple(sources)
        self.encoder = KnowledgeGAT(in_dim, cfg, relations)
        d = cfg.hidden
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d, bias=False)
        self.u = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)
        for lin in (self.q, self.k, self.u, self.v):
            nn.init.normal_(lin.weight, std=0.01)  # start as the KG-similarity retrieval
        self.beta = nn.Parameter(torch.full((len(self.sources),), _inv_softplus(1.0)))
        self.gamma = nn.Parameter(torch.tensor(_inv_softplus(cfg.attention_init)))
        self.log_kappa = nn.Parameter(torch.tensor(math.log(cfg.kappa_init)))
        self.a = nn.Parameter(torch.tensor(1.0))
        self.gene_bias = nn.Parameter(torch.zeros(n_genes))

    def forward(
        self,
        t: dict[str, Tensor],
        queries: Tensor,
        pool: Tensor,
    ) -> Tensor:
        h = self.encoder(t["x"], t["is_coding"], t["edges"])
        hp = h[t["pert_nodes"]]
        hg = h[t["gene_nodes"]]
        logit = self.gene_bias[None, :].expand(queries.shape[0], -1)
        if "retrieval" in self.cfg.terms:
            own = queries[:, None] == pool[None, :]
            att = (self.q(hp[queries]) @ self.k(hp[pool]).T) / math.sqrt(hp.shape[1])
            att = torch.softmax(att.masked_fill(own, float("-inf")), dim=1) * pool.shape[0]
            w = F.softplus(self.gamma) * att
            for i, s in enumerate(self.sources):
                w = w + F.softplus(self.beta[i]) * t["similarity"][s][queries][:, pool]
            w = w.masked_fill(own, 0.0)
            m, y = t["mask"][pool], t["y"][pool]
            kappa = self.log_kappa.exp()
            r = (w @ (m * y) + kappa * t["rate"][None, :]) / (w @ m + kappa)
            r = r.clamp(1e-4, 1 - 1e-4)
            logit = logit + self.a * torch.log(r / (1 - r))
        if "bilinear" in self.cfg.terms:
            logit = logit + self.u(hp[queries]) @ self.v(hg).T
        return logit


def _inv_softplus(v: float) -> float:
    return float(math.log(math.expm1(v)))


def _tensors(data: LabelData, pool_rate: np.ndarray, device: str) -> dict[str, Tensor]:
    return {
        "x": torch.as_tensor(data.x, dtype=torch.float32, device=device),
        "is_coding": torch.as_tensor(data.is_coding, dtype=torch.bool, device=device),
        "edges": {
            r: torch.as_tensor(e, dtype=torch.long, device=device)
            for r, e in data.relations.items()
        },
        "pert_nodes": torch.as_tensor(data.pert_nodes, dtype=torch.long, device=device),
        "gene_nodes": torch.as_tensor(data.gene_nodes, dtype=torch.long, device=device),
        "similarity": {
            s: torch.as_tensor(v, dtype=torch.float32, device=device)
            for s, v in data.similarity.items()
        },
        "y": torch.as_tensor(data.y, dtype=torch.float32, device=device),
        "mask": torch.as_tensor(data.mask, dtype=torch.float32, device=device),
        "rate": torch.as_tensor(pool_rate, dtype=torch.float32, device=device),
    }


def gene_rate(y: np.ndarray, mask: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per-gene label rate over the perturbations ``rows`` (0.5 where a gene has no label)."""
    n = mask[rows].sum(0)
    pos = (mask[rows] * y[rows]).sum(0)
    return np.where(n > 0, pos / np.maximum(n, 1), 0.5)


def _bce(logit: Tensor, y: Tensor, m: Tensor) -> Tensor:
    loss = F.binary_cross_entropy_with_logits(logit, y, reduction="none")
    return (loss * m).sum() / m.sum().clamp_min(1.0)


def _listwise(logit: Tensor, y: Tensor, m: Tensor) -> Tensor:
    """Per gene g: −Σ_{i: y=1} log softmax_i(logit[·, g]) over the labelled perturbations of the
    batch, divided by the positives, averaged over genes with a positive and a negative."""
    masked = logit.masked_fill(m == 0, float("-inf"))
    logp = torch.log_softmax(masked, dim=0).masked_fill(m == 0, 0.0)
    pos = (m * y).sum(0)
    keep = (pos > 0) & (pos < m.sum(0))
    per_gene = -(logp * m * y).sum(0) / pos.clamp_min(1.0)
    return per_gene[keep].mean() if bool(keep.any()) else logit.sum() * 0.0


def _loss(cfg: LabelConfig, logit: Tensor, y: Tensor, m: Tensor) -> Tensor:
    if cfg.loss == "bce+list":
        return _bce(logit, y, m) + 0.1 * _listwise(logit, y, m)
    return _bce(logit, y, m)


def fit_label_model(
    data: LabelData,
    train: np.ndarray,
    val: np.ndarray,
    cfg: LabelConfig,
    *,
    device: str = "cpu",
    score_val: Callable[[np.ndarray, np.ndarray], float] | None = None,
    progress: Callable[[int, dict], None] | None = None,
) -> tuple[LabelModel, dict]:
    """Train on the labelled pairs of the perturbations ``train`` (indices into the
    perturbations); each query retrieves from the other training perturbations. The epoch kept
    is the best on ``val`` by ``score_val(pred [V, G], val rows)`` (higher is better; default:
    minus the validation loss), the validation perturbations retrieving from ``train``;
    early stopping after ``patience`` epochs without a gain. Returns the model (best weights)
    and a history ``{"epochs": [...], "best_epoch", "best_val"}``."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    rate = gene_rate(data.y, data.mask, train)
    t = _tensors(data, rate, device)
    model = LabelModel(
        data.x.shape[1], cfg, sorted(data.relations), sorted(data.similarity), data.y.shape[1]
    ).to(device)
    with torch.no_grad():
        model.gene_bias.copy_(
            torch.as_tensor(np.log(np.clip(rate, 1e-3, 1 - 1e-3) / np.clip(1 - rate, 1e-3, 1)))
        )
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    tr = torch.as_tensor(train, dtype=torch.long, device=device)
    va = torch.as_tensor(val, dtype=torch.long, device=device)
    hist: dict = {"epochs": []}
    best, best_state, stale = -math.inf, None, 0

    def validate(epoch: int, train_loss: float) -> bool:
        """Score the validation perturbations; keep the weights if best. False = stop."""
        nonlocal best, best_state, stale
        model.eval()
        with torch.no_grad():
            vlogit = model(t, va, tr)
            vloss = float(_bce(vlogit, t["y"][va], t["mask"][va]))
        val_score = score_val(torch.sigmoid(vlogit).cpu().numpy(), val) if score_val else -vloss
        row = {"epoch": epoch, "train_loss": train_loss, "val_loss": vloss, "val_score": val_score}
        hist["epochs"].append(row)
        if progress:
            progress(epoch, row)
        if val_score > best + 1e-6:
            best, stale = val_score, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            hist["best_epoch"], hist["best_val"] = epoch, val_score
            return True
        stale += 1
        return stale < cfg.patience

    validate(0, float("nan"))
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = tr[torch.randperm(tr.shape[0], generator=gen).to(device)]
        total = 0.0
        for i in range(0, order.shape[0], cfg.batch):
            q = order[i : i + cfg.batch]
            loss = _loss(cfg, model(t, q, tr), t["y"][q], t["mask"][q])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += float(loss.detach()) * q.shape[0]
        if not validate(epoch, total / max(len(train), 1)):
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, hist


@torch.no_grad()
def predict_pairs(
    model: LabelModel,
    data: LabelData,
    queries: np.ndarray,
    pool: np.ndarray,
    device: str = "cpu",
) -> np.ndarray:
    """P(label = 1) ``[len(queries), G]`` for the perturbations ``queries`` retrieving from the
    labelled perturbations ``pool``."""
    model.eval()
    t = _tensors(data, gene_rate(data.y, data.mask, pool), device)
    q = torch.as_tensor(queries, dtype=torch.long, device=device)
    p = torch.as_tensor(pool, dtype=torch.long, device=device)
    return torch.sigmoid(model(t, q, p)).cpu().numpy()
