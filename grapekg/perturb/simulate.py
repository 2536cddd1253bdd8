"""SYNTHETIC Perturb-seq-like data in the GEARS format (for demos, tests and benchmarks).

Nothing produced here is real biology: every AnnData carries ``uns['synthetic'] = True``
and the generator's seed and parameters under ``uns['grapekg']``.

Generative model (G genes, biotype class b_g ∈ {c, nc}):

1. Baseline log-expression μ_g ~ Gamma(k_b, θ_b) (coding genes higher on average).
2. Regulatory network W (G × G, W[s, d] = effect of source s on target d): an ordered pair
   (s, d), s ≠ d, is an edge with probability p = min(1, β_{s,d} · deg_r / G) where
   r is the relation of the unordered biotype-class pair (named by the ``relations``
   argument, e.g. the KG schema's cc / cn / nn) and β_{s,d} = ``shared_term_boost``
   when s and d share a pathway or GO term (1 otherwise). The sign is + with probability
   ``positive_fraction[r]``; |W| ~ Uniform(``weight_range``).
3. Knock-down of a gene set S: shock s0_g = log1p((1 − η) · expm1(μ_g)) − μ_g for g ∈ S
   (η = ``knockdown_efficiency``), 0 elsewhere; network response by damped linear
   propagation δ = Σ_{k=0..K} (α Wᵀ)^k s0 (α = ``damping``, K = ``propagation_steps``), the
   targets then reset to their shock, δ clipped to ±3. Every condition also gets a shared
   "generic response" a_p · r (r_g ~ N(0, ``generic_response_scale``) on a random
   ``generic_response_fraction`` of genes, 0 elsewhere; a_p ~ U(0.5, 1.5)).
4. Doubles A+B: δ_AB = c_A δ_A + c_B δ_B + e · (δ_A ∘ δ_B) + a_AB r, with c ~ LogNormal(0,
   ``coefficient_sd``) and e ~ N(0, ``interaction_sd``): the planted genetic interaction.
5. Mean profile z_p = max(μ + δ_p, 0). Cell i of condition p: library factor
   L_i ~ LogNormal(0, ``library_sd``), y = log1p(L_i · expm1(max(z_p + ε, 0))) with
   ε ~ N(0, ``noise_sd``); dropout sets y to 0 with probability exp(−``dropout_rate`` · y).

Two signals (``signal``):

* ``random-sign`` (the default of :func:`simulate`; the negative control): the model above.
  Edge signs are coin flips, so the sign of an unseen regulator's targets cannot be inferred
  from anything a model sees, and the generic response carries most of the DE signal.
* ``learnable`` (the default of ``grape data simulate``): the truth follows what the models
  see (details in :mod:`grapekg.perturb.simulate_learnable`). Steps 1, 4 and 5 as above;
  step 3: the knock-down shock is a constant s0_g = −``knockdown_depth`` (1.0 log unit) for
  g ∈ S (its own mean becomes max(μ_g − 1, 0)), and the generic response is 10× smaller
  (``generic_response_scale`` 0.025), so the network carries the DE signal. Step 2 has two
  forms:

  - with ``prior_pairs`` (what ``grape data simulate`` passes: the KG's GO-Jaccard and
    Reactome prior edges among the chosen genes, i.e. the graph GRAPE, BioDSNN and GEARS
    receive; the genes are chosen in prior-graph neighbourhoods,
    :func:`grapekg.app.datasets.clustered_gene_table`): (2a) M_g = the mode of g's community
    of the prior graph (deterministic label propagation; ±1 by community size rank), (2b)
    every prior pair is an edge, plus background pairs for a share 1 − ``prior_share``
    (0.9) of the edges, (2c) W[s, d] = M_s · u · min(1, 6 / sqrt(k_s · k_d)) (k = prior
    degrees, u ~ U(0.8, 1.2)), one hop of propagation (:data:`PRIOR_PAIR_DEFAULTS`), and
    the single targets are drawn first among genes with ≥ ``regulator_min_degree`` (5)
    prior pairs. Nearly every prior pair then joins genes of one mode, so the prior graph
    carries an unseen regulator's sign and a model given that graph can learn it (the
    figures are in docs/benchmarks.md, *Measurements behind choices in the code*);
  - without (the Python API on a bare gene table): (2a) M_g = the mode of g's largest
    shared pathway / GO term (a fixed rule on the sorted term ids), (2b)
    round(``edges_per_gene`` · G) edges, a share ``prior_share`` (0.8) of them between
    genes sharing a pathway or GO term, the rest background pairs, (2c)
    W[s, d] = M_s · Uniform(``weight_range``), three hops.

  Doubles keep step 4's random per-double coefficients and interaction in both forms (no
  model can predict those for a double it has not seen).

Both return the truth (:class:`~grapekg.perturb.truth.SimulationTruth`: noise-free mean
profiles, shocks, generic response, edges, modes, parameters) for the ceilings of
:mod:`grapekg.evaluation.ceilings`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from grapekg.perturb.conditions import CONTROL, canonical_string, condition_name
from grapekg.perturb.errors import DataError
from grapekg.perturb.simulate_learnable import (
    graph_modes,
    plant_learnable_edges,
    regulator_modes,
)
from grapekg.perturb.truth import SimulationTruth, propagate

__all__ = [
    "LEARNABLE_DEFAULTS",
    "PRIOR_PAIR_DEFAULTS",
    "SIGNALS",
    "SimulationParams",
    "Simulation",
    "simulate",
    "synthetic_genes",
]

log = logging.getLogger(__name__)
CLASSES = ("c", "nc")
#: the two generative models (module docstring)
SIGNALS = ("learnable", "random-sign")
#: parameters whose default differs in the learnable mode (explicit overrides still win)
LEARNABLE_DEFAULTS: dict[str, object] = {"generic_response_scale": 0.025}
#: ... and with prior pairs (the planted network is the whole prior graph, dense inside a
#: pathway): direct effects only and smaller weights, so a knock-down moves its prior
#: neighbours instead of saturating a pathway through three hops
PRIOR_PAIR_DEFAULTS: dict[str, object] = {
    "propagation_steps": 1,
    "weight_range": (0.8, 1.2),
    "prior_share": 0.9,
}


@dataclass(frozen=True)
class SimulationParams:
    """Parameters of :func:`simulate` (defaults give a problem that baselines do not solve)."""

    n_conditions: int = 150
    cells_per_condition: int = 50
    combo_fraction: float = 0.4
    seed: int = 0
    n_control_cells: int = 300
    cell_type: str = "synthetic"
    mean_out_degree: dict[str, float] = field(
        default_factory=lambda: {"cc": 3.0, "cn": 1.0, "nn": 0.4}
    )
    positive_fraction: dict[str, float] = field(
        default_factory=lambda: {"cc": 0.5, "cn": 0.3, "nn": 0.7}
    )
    shared_term_boost: float = 10.0
    weight_range: tuple[float, float] = (0.4, 1.0)
    knockdown_efficiency: float = 0.8
    damping: float = 0.8
    propagation_steps: int = 3
    generic_response_fraction: float = 0.03
    generic_response_scale: float = 0.25
    coefficient_sd: float = 0.3
    interaction_sd: float = 1.0
    baseline_shape: dict[str, float] = field(default_factory=lambda: {"c": 1.2, "nc": 0.8})
    baseline_scale: dict[str, float] = field(default_factory=lambda: {"c": 0.9, "nc": 0.4})
    noise_sd: float = 0.25
    library_sd: float = 0.2
    dropout_rate: float = 2.0
    #: "random-sign" or "learnable" (module docstring); the fields below: learnable only
    signal: str = "random-sign"
    edges_per_gene: float = 3.0
    prior_share: float = 0.8
    knockdown_depth: float = 1.0
    #: with prior pairs: single targets first among genes with at least this many prior edges
    regulator_min_degree: int = 5
    #: with prior pairs: c of the degree-normalised weights (simulate_learnable)
    degree_scale: float = 6.0
    mode_default: dict[str, float] = field(default_factory=lambda: {"c": 1.0, "nc": -1.0})


@dataclass
class Simulation:
    """The simulated AnnData (GEARS format, SYNTHETIC), the planted edges and the truth;
    unpacks as ``adata, edges``."""

    adata: object
    edges: pd.DataFrame
    truth: SimulationTruth

    def __iter__(self) -> Iterator[object]:
        return iter((self.adata, self.edges))


def synthetic_genes(
    n_genes: int = 1000,
    *,
    coding_fraction: float = 0.6,
    n_pathways: int = 40,
    n_go_terms: int = 80,
    seed: int = 0,
) -> pd.DataFrame:
    """A SYNTHETIC gene table (ensembl_id ``ENSGSYN…``, symbol ``SYN…``, biotype_class,
    pathways, go_terms): each gene joins Poisson(1) random pathways and Poisson(1.5) GO terms."""
    rng = np.random.default_rng(seed)
    ids = [f"ENSGSYN{i:08d}" for i in range(n_genes)]
    symbols = [f"SYN{i:05d}" for i in range(n_genes)]
    classes = np.where(rng.random(n_genes) < coding_fraction, "c", "nc")

    def draw(n_terms: int, rate: float, prefix: str) -> list[list[str]]:
        return [
            sorted({f"{prefix}{t:04d}" for t in rng.integers(n_terms, size=k)})
            for k in rng.poisson(rate, size=n_genes)
        ]

    return pd.DataFrame(
        {
            "ensembl_id": ids,
            "symbol": symbols,
            "biotype_class": classes,
            "pathways": draw(n_pathways, 1.0, "SYN-PW-"),
            "go_terms": draw(n_go_terms, 1.5, "SYN-GO:"),
        }
    )


def _check_genes(genes: pd.DataFrame) -> None:
    for col in ("ensembl_id", "symbol", "biotype_class"):
        if col not in genes.columns:
            raise DataError(
                f"column not found; have {list(genes.columns)}", parameter=f"genes['{col}']"
            )
    bad = sorted(set(genes["biotype_class"]) - {"c", "nc"})
    if bad:
        raise DataError(
            f"values must be 'c' or 'nc', got {bad[:5]}", parameter="genes['biotype_class']"
        )
    for col in ("ensembl_id", "symbol"):
        if genes[col].duplicated().any():
            raise DataError("duplicated values", parameter=f"genes['{col}']")
    odd = [s for s in genes["symbol"] if "+" in str(s) or str(s).lower() == CONTROL]
    if odd:
        raise DataError(
            f"symbols may not contain '+' or be 'ctrl': {odd[:5]}", parameter="genes['symbol']"
        )


def _relation_names(relations: Mapping[str, Sequence[str]], p: SimulationParams) -> np.ndarray:
    """Relation name by the number of coding ends of a pair (0: nc-nc, 1: c-nc, 2: c-c)."""
    names: dict[int, str] = {}
    for name, pair in relations.items():
        ends = tuple(pair)
        if len(ends) != 2 or not set(ends) <= set(CLASSES):
            raise DataError(
                f"relation {name!r}: expected a pair of {CLASSES}, got {pair!r}",
                parameter="relations",
            )
        k = sum(e == "c" for e in ends)
        if k in names:
            raise DataError(
                f"relations {names[k]!r} and {name!r} join the same classes", parameter="relations"
            )
        names[k] = str(name)
    if len(names) != 3:
        raise DataError(
            f"need one relation for each of c-c, c-nc and nc-nc, got {dict(relations)}",
            parameter="relations",
        )
    missing = sorted(set(names.values()) - set(p.positive_fraction))
    if missing:
        raise DataError(f"no entry for the relation(s) {missing}", parameter="positive_fraction")
    return np.array([names[0], names[1], names[2]])


def _relation(names: np.ndarray, is_c: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    both = is_c[src].astype(int) + is_c[dst].astype(int)
    return names[both]


def _term_members(genes: pd.DataFrame) -> list[np.ndarray]:
    members: dict[str, list[int]] = {}
    for col in ("pathways", "go_terms"):
        if col not in genes.columns:
            continue
        for i, terms in enumerate(genes[col]):
            if isinstance(terms, str | bytes) or terms is None:
                terms = [] if terms is None else [terms]
            for term in terms:
                members.setdefault(f"{col}:{term}", []).append(i)
    # in term order, not in the order the KG happened to return each gene's terms: the
    # simulation of a gene table is the same whatever its lists' order (the KG's storage order)
    return [np.array(sorted(set(members[t]))) for t in sorted(members) if len(set(members[t])) > 1]


def _plant_edges(
    genes: pd.DataFrame, p: SimulationParams, names: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    n = len(genes)
    is_c = genes["biotype_class"].to_numpy() == "c"
    p_rel = {str(r): min(1.0, p.mean_out_degree.get(str(r), 0.0) / n) for r in names}
    p_max = max(max(p_rel.values()), 1e-12)
    terms = _term_members(genes)
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    # background pairs at rate p_max, thinned to p_rel below
    m = rng.binomial(n * (n - 1), p_max)
    pairs.append((rng.integers(n, size=m), rng.integers(n, size=m)))
    # extra pairs inside each shared pathway / GO term: rate (boost − 1) · p_max
    extra = min(1.0, max(p.shared_term_boost - 1.0, 0.0) * p_max)
    for members in terms:
        k = len(members)
        m = rng.binomial(k * (k - 1), extra)
        pairs.append((members[rng.integers(k, size=m)], members[rng.integers(k, size=m)]))
    src = np.concatenate([s for s, _ in pairs]).astype(np.int64)
    dst = np.concatenate([d for _, d in pairs]).astype(np.int64)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    rel = _relation(names, is_c, src, dst)
    accept = rng.random(src.size) < np.array([p_rel[r] for r in rel]) / p_max
    src, dst, rel = src[accept], dst[accept], rel[accept]
    _, first = np.unique(src * n + dst, return_index=True)
    src, dst, rel = src[first], dst[first], rel[first]
    sign = np.where(
        rng.random(src.size) < np.array([p.positive_fraction[r] for r in rel]), 1.0, -1.0
    )
    weight = sign * rng.uniform(*p.weight_range, size=src.size)
    return _edge_frame(genes, terms, src, dst, rel, weight)


def _edge_frame(
    genes: pd.DataFrame,
    terms: list[np.ndarray],
    src: np.ndarray,
    dst: np.ndarray,
    rel: np.ndarray,
    weight: np.ndarray,
) -> pd.DataFrame:
    n = len(genes)
    gene_terms = [set() for _ in range(n)]
    for t, members in enumerate(terms):
        for g in members:
            gene_terms[g].add(t)
    shared = np.array([bool(gene_terms[s] & gene_terms[d]) for s, d in zip(src, dst, strict=True)])
    ids, sym = genes["ensembl_id"].to_numpy(), genes["symbol"].to_numpy()
    return pd.DataFrame(
        {
            "src": ids[src],
            "dst": ids[dst],
            "src_symbol": sym[src],
            "dst_symbol": sym[dst],
            "weight": weight,
            "relation": rel,
            "shared_term": shared,
            "src_idx": src,
            "dst_idx": dst,
        }
    )


def _choose_conditions(
    edges: pd.DataFrame,
    n: int,
    p: SimulationParams,
    rng: np.random.Generator,
    prefer: np.ndarray | None = None,
) -> tuple[list[int], list[tuple[int, int]]]:
    """Single targets: regulators (genes with planted out-edges) in random order, first
    those in ``prefer`` when given (learnable with prior pairs: the genes with a prior
    edge), then genes without out-edges; doubles: random pairs of the singles."""
    n_doubles = int(round(p.combo_fraction * p.n_conditions))
    n_singles = p.n_conditions - n_doubles
    if n_singles < 1 or (n_doubles > 0 and n_singles < 2):
        raise DataError(
            f"n_conditions={p.n_conditions} with combo_fraction="
            f"{p.combo_fraction} leaves {n_singles} single(s)",
            parameter="combo_fraction",
        )
    if n_singles > n:
        raise DataError(
            f"{n_singles} single perturbations need as many genes, have {n}",
            parameter="n_conditions",
        )
    if n_doubles > n_singles * (n_singles - 1) // 2:
        raise DataError(
            f"{n_doubles} doubles cannot be formed from {n_singles} singles",
            parameter="combo_fraction",
        )
    regulators = np.unique(edges["src_idx"].to_numpy())
    others = np.setdiff1d(np.arange(n), regulators)
    if prefer is not None:
        first = np.intersect1d(regulators, prefer)
        rest = np.setdiff1d(regulators, first)
        regulators = np.concatenate([rng.permutation(first), rng.permutation(rest)])
        pool = regulators[:n_singles]
    else:
        pool = rng.permutation(regulators)[:n_singles]
    if pool.size < n_singles:
        pool = np.concatenate([pool, rng.permutation(others)[: n_singles - pool.size]])
    singles = sorted(int(g) for g in pool)
    doubles: set[tuple[int, int]] = set()
    while len(doubles) < n_doubles:
        a, b = rng.choice(singles, size=2, replace=False)
        doubles.add((int(min(a, b)), int(max(a, b))))
    return singles, sorted(doubles)


def _response(w_t: sp.csr_matrix, shock: np.ndarray, p: SimulationParams) -> np.ndarray:
    return propagate(w_t, shock, p.damping, p.propagation_steps)


def _cells(
    z: np.ndarray, n_cells: int, p: SimulationParams, rng: np.random.Generator
) -> sp.csr_matrix:
    noisy = np.maximum(z[None, :] + rng.normal(0.0, p.noise_sd, (n_cells, z.size)), 0.0)
    library = rng.lognormal(0.0, p.library_sd, size=(n_cells, 1))
    y = np.log1p(library * np.expm1(noisy))
    y[rng.random(y.shape) < np.exp(-p.dropout_rate * y)] = 0.0
    return sp.csr_matrix(y.astype(np.float32))


def _uns_params(p: SimulationParams) -> dict:
    raw = asdict(p)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in raw.items()}


def _plant_learnable(
    genes: pd.DataFrame,
    p: SimulationParams,
    names: np.ndarray,
    rng: np.random.Generator,
    prior_pairs: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Steps 2a-2c of the learnable signal: the edges and every gene's regulator mode."""
    missing = sorted(set(CLASSES) - set(p.mode_default))
    if missing:
        raise DataError(f"no entry for the class(es) {missing}", parameter="mode_default")
    if not 0.0 <= p.prior_share <= 1.0:
        raise DataError(f"must be in [0, 1], got {p.prior_share}", parameter="prior_share")
    if p.edges_per_gene <= 0:
        raise DataError(f"must be > 0, got {p.edges_per_gene}", parameter="edges_per_gene")
    is_c = genes["biotype_class"].to_numpy() == "c"
    terms = _term_members(genes)
    modes = regulator_modes(terms, genes["biotype_class"].to_numpy(), p.mode_default)
    if prior_pairs is not None:
        modes = graph_modes(len(genes), prior_pairs, modes)
    src, dst, rel, weight = plant_learnable_edges(
        len(genes),
        terms,
        modes,
        edges_per_gene=p.edges_per_gene,
        prior_share=p.prior_share,
        weight_range=p.weight_range,
        rng=rng,
        relation=lambda s, d: _relation(names, is_c, s, d),
        pairs=prior_pairs,
        degree_scale=p.degree_scale,
    )
    return _edge_frame(genes, terms, src, dst, rel, weight), modes


def _params(
    n_conditions: int,
    cells_per_condition: int,
    combo_fraction: float,
    seed: int,
    signal: str,
    overrides: Mapping[str, object],
    with_pairs: bool = False,
) -> SimulationParams:
    if signal not in SIGNALS:
        raise DataError(f"must be one of {', '.join(SIGNALS)}, got {signal!r}", parameter="signal")
    if "signal" in overrides:
        raise DataError("pass the signal as simulate(signal=...)", parameter="signal")
    base = dict(LEARNABLE_DEFAULTS) if signal == "learnable" else {}
    if signal == "learnable" and with_pairs:
        base.update(PRIOR_PAIR_DEFAULTS)
    base.update(overrides)
    return SimulationParams(
        n_conditions=n_conditions,
        cells_per_condition=cells_per_condition,
        combo_fraction=combo_fraction,
        seed=seed,
        signal=signal,
        **base,
    )  # type: ignore[arg-type]


def simulate(
    genes: pd.DataFrame,
    n_conditions: int = 150,
    cells_per_condition: int = 50,
    combo_fraction: float = 0.4,
    seed: int = 0,
    *,
    relations: Mapping[str, Sequence[str]],
    add_de: bool = True,
    signal: str = "random-sign",
    prior_pairs: tuple[np.ndarray, np.ndarray] | None = None,
    **overrides: object,
) -> Simulation:
    """Simulate a SYNTHETIC Perturb-seq-like dataset (model in the module docstring).

    Args:
        genes: columns ensembl_id, symbol, biotype_class ('c' | 'nc'), optional pathways /
            go_terms (lists of term ids).
        n_conditions: perturbation conditions besides ``ctrl``; ``round(combo_fraction ·
            n_conditions)`` of them are doubles built from the single-gene targets.
        cells_per_condition: cells per perturbation (controls: ``n_control_cells``).
        seed: seeds every random draw (numpy Generator).
        relations: the name of each unordered biotype-class pair, e.g. the KG schema's
            ``{"cc": ("c", "c"), "cn": ("c", "nc"), "nn": ("nc", "nc")}`` (from its
            ``gene_relations`` triples); ``mean_out_degree`` and ``positive_fraction`` are
            keyed by these names.
        add_de: also write GEARS's DE entries into ``uns`` (one in-memory pass).
        signal: ``"random-sign"`` (the original generator, bit-for-bit) or ``"learnable"``
            (module docstring; :data:`LEARNABLE_DEFAULTS` apply unless overridden).
        prior_pairs: learnable only: the prior edges the models will receive, as (source,
            target) row indices of ``genes`` (both directions of an undirected edge). The
            planted prior edges are drawn from them and the single perturbations from the
            genes with at least ``regulator_min_degree`` of them, so what a model can see
            carries the signal
            (:mod:`~grapekg.perturb.simulate_learnable`). None: shared-term pairs.
        overrides: any other :class:`SimulationParams` field.

    Returns:
        ``Simulation(adata, edges, truth)``: adata in GEARS format (obs condition / cell_type /
        condition_name / control / dose_val; var index = ensembl ids, var['gene_name'];
        X log-normalised CSR float32; ``uns['synthetic']`` True, ``uns['grapekg']`` seed,
        signal, parameters and the planted double coefficients), the planted edges (src,
        dst, weight, relation (a name of ``relations``), shared_term, ...) and the noise-free
        truth (:class:`~grapekg.perturb.truth.SimulationTruth`).
    """
    import anndata as ad

    _check_genes(genes)
    genes = genes.reset_index(drop=True)
    p = _params(
        n_conditions,
        cells_per_condition,
        combo_fraction,
        seed,
        signal,
        overrides,
        with_pairs=prior_pairs is not None,
    )
    names = _relation_names(relations, p)
    rng = np.random.default_rng(seed)
    n = len(genes)
    cls = genes["biotype_class"].to_numpy()
    mu = np.where(
        cls == "c",
        rng.gamma(p.baseline_shape["c"], p.baseline_scale["c"], n),
        rng.gamma(p.baseline_shape["nc"], p.baseline_scale["nc"], n),
    )
    prefer = None
    if p.signal == "learnable":
        edges, modes = _plant_learnable(genes, p, names, rng, prior_pairs)
        if prior_pairs is not None:
            degree = np.bincount(np.asarray(prior_pairs[0], dtype=np.int64), minlength=n)
            prefer = np.flatnonzero(degree >= max(p.regulator_min_degree, 1))
    else:
        if prior_pairs is not None:
            raise DataError("only the learnable signal uses them", parameter="prior_pairs")
        edges, modes = _plant_edges(genes, p, names, rng), np.zeros(n)
    w_t = sp.csr_matrix((edges["weight"], (edges["dst_idx"], edges["src_idx"])), shape=(n, n))
    singles, doubles = _choose_conditions(edges, n, p, rng, prefer)
    generic = np.where(
        rng.random(n) < p.generic_response_fraction,
        rng.normal(0.0, p.generic_response_scale, n),
        0.0,
    )

    def shock(targets: Sequence[int]) -> np.ndarray:
        s = np.zeros(n)
        idx = np.asarray(targets)
        if p.signal == "learnable":
            s[idx] = -p.knockdown_depth
        else:
            s[idx] = np.log1p((1 - p.knockdown_efficiency) * np.expm1(mu[idx])) - mu[idx]
        return s

    sym = genes["symbol"].to_numpy()
    deltas = {g: _response(w_t, shock([g]), p) for g in singles}
    profiles: dict[str, np.ndarray] = {CONTROL: mu}
    shocks: dict[str, np.ndarray] = {CONTROL: np.zeros(n)}
    amplitude: dict[str, float] = {CONTROL: 0.0}
    for g in singles:
        cond = canonical_string([sym[g]])
        amplitude[cond] = rng.uniform(0.5, 1.5)
        profiles[cond] = mu + deltas[g] + amplitude[cond] * generic
        shocks[cond] = shock([g])
    gi = {"condition": [], "c_a": [], "c_b": [], "e": []}
    for a, b in doubles:
        c_a, c_b = rng.lognormal(0.0, p.coefficient_sd, size=2)
        e = rng.normal(0.0, p.interaction_sd)
        delta = c_a * deltas[a] + c_b * deltas[b] + e * deltas[a] * deltas[b]
        kd = shock([a, b])
        delta[[a, b]] = kd[[a, b]]
        cond = canonical_string([sym[a], sym[b]])
        amplitude[cond] = rng.uniform(0.5, 1.5)
        profiles[cond] = mu + np.clip(delta, -3, 3) + amplitude[cond] * generic
        shocks[cond] = kd
        for key, val in zip(("condition", "c_a", "c_b", "e"), (cond, c_a, c_b, e), strict=True):
            gi[key].append(val)
    blocks, labels = [], []
    for cond, z in profiles.items():
        k = p.n_control_cells if cond == CONTROL else p.cells_per_condition
        blocks.append(_cells(np.maximum(z, 0.0), k, p, rng))
        labels += [cond] * k
    x = sp.vstack(blocks, format="csr")
    obs = pd.DataFrame({"condition": labels, "cell_type": p.cell_type})
    obs["condition_name"] = [condition_name(p.cell_type, c) for c in labels]
    obs["control"] = (obs["condition"] == CONTROL).astype(int)
    obs["dose_val"] = ["1+1" if len(c.split("+")) == 2 else "1" for c in labels]
    obs.index = [f"synthetic_cell_{i:07d}" for i in range(len(labels))]
    obs = obs.astype(
        {c: "category" for c in ("condition", "cell_type", "condition_name", "dose_val")}
    )
    var = pd.DataFrame(
        {"gene_name": sym, "biotype_class": cls},
        index=pd.Index(genes["ensembl_id"].astype(str), name=None),
    )
    adata = ad.AnnData(X=x, obs=obs, var=var)
    adata.uns["synthetic"] = True
    adata.uns["grapekg"] = {
        "generator": "grapekg.perturb.simulate",
        "seed": seed,
        "signal": p.signal,
        "synthetic": True,
        "params": _uns_params(p),
        "doubles": {k: np.asarray(v) for k, v in gi.items()},
    }
    if add_de:
        from grapekg.perturb.de import compute_de, gears_uns
        from grapekg.perturb.summaries import summarise_adata

        summary = summarise_adata(adata)
        adata.uns.update(gears_uns(compute_de(summary), summary.gene_ids, p.cell_type))
    log.info(
        "simulated SYNTHETIC data (%s): %d cells x %d genes, %d edges",
        p.signal,
        *x.shape,
        len(edges),
    )
    conds = list(profiles)
    truth = SimulationTruth(
        signal=p.signal,
        gene_ids=genes["ensembl_id"].astype(str).to_numpy(),
        conditions=conds,
        mean=np.stack([np.maximum(profiles[c], 0.0) for c in conds]),
        shock=np.stack([shocks[c] for c in conds]),
        generic=generic,
        amplitude=np.array([amplitude[c] for c in conds]),
        modes=modes,
        edge_src=edges["src_idx"].to_numpy(),
        edge_dst=edges["dst_idx"].to_numpy(),
        edge_weight=edges["weight"].to_numpy(),
        edge_relation=edges["relation"].astype(str).to_numpy(),
        params=_uns_params(p),
    )
    return Simulation(adata, edges.drop(columns=["src_idx", "dst_idx"]), truth)
