"""BioDSNN (Tan et al., Briefings in Bioinformatics 2024, bbae617): a dual-stream model of
perturbation responses. Knowledge stream: GNN encoders over the GO-Jaccard perturbation graph
and the co-expression gene graph (:mod:`.knowledge`), then attention over genes masked by the
Reactome pathway structure, computed over the mask's edges (:mod:`.masked_attention`).
Data stream: a VAE over the control expression (:mod:`.vae`). Loss :mod:`.loss`, graphs and
mask :mod:`.graphs`, training :mod:`.train`. Pure torch / PyG."""

from grapekg.model.biodsnn.config import BiodsnnConfig
from grapekg.model.biodsnn.model import BiodsnnModel

__all__ = ["BiodsnnConfig", "BiodsnnModel"]
