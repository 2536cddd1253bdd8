"""GRAPE (Chi et al., IJCAI 2025, arXiv 2505.03853) re-implemented in PyTorch / PyG.

One module per part of the paper's section 4:

* :mod:`~grapekg.model.grape.graph`: :class:`GeneGraph`, the model's input (genes, biotype
  classes, modality features, prior edges as a ``HeteroData``).
* :mod:`~grapekg.model.grape.config`: :class:`GrapeConfig` (typed, JSON round-trip).
* :mod:`~grapekg.model.grape.align`: Eq. 1-2 (contrastive alignment, fusion MLP).
* :mod:`~grapekg.model.grape.similarity`: Eq. 3-5 (multi-head cosine graphs, block top-k).
* :mod:`~grapekg.model.grape.gsl`: Eq. 6-10 (K-hop GCN structure learning, regulariser).
* :mod:`~grapekg.model.grape.hetero`: Eq. 11 (heterogeneous multi-head GATv2).
* :mod:`~grapekg.model.grape.head`: Eq. 12-17 (per-gene head, losses).
* :mod:`~grapekg.model.grape.model`: :class:`GrapeModel` composing them.
* :mod:`~grapekg.model.grape.incremental`: exact L-hop incremental propagation.
* :mod:`~grapekg.model.grape.train`: :func:`train_grape`, :func:`predict`.

Extensions outside the paper, each off by default, follow one protocol
(:mod:`~grapekg.model.grape.extension`) and are listed, in build order, in
:mod:`~grapekg.model.grape.extensions`: :mod:`~grapekg.model.grape.pert_channel`,
:mod:`~grapekg.model.grape.self_term`, :mod:`~grapekg.model.grape.control_input`,
:mod:`~grapekg.model.grape.prior_shock` (with :mod:`~grapekg.model.grape.lp_vote`) and
:mod:`~grapekg.model.grape.single_anchor`.
"""

from grapekg.model.grape.config import GrapeConfig, PriorShockConfig
from grapekg.model.grape.graph import GeneGraph

__all__ = ["GeneGraph", "GrapeConfig", "PriorShockConfig"]
