"""Gene representation initialisation: modality alignment (Eq. 1) and fusion (Eq. 2).

Projection head f_m of modality m (as in the authors' code, written anew):

.. math::
    g = \\exp(-x^2 / 2\\sigma^2) \\text{ (elementwise)}, \\quad
    u = W_1 g, \\quad z = \\mathrm{LayerNorm}(u + W_2\\, \\mathrm{GELU}(u))

Alignment (Eq. 1, InfoNCE, van den Oord 2018): with cosine similarity
D(a, b) = aᵀb / (‖a‖‖b‖) and temperature 𝒯, over the genes i having both modalities,

.. math::
    \\mathcal{L}_{align} = -\\frac{1}{2N}\\sum_i \\Big[\\log
    \\frac{e^{D(z_S^i, z_D^i)/\\mathcal{T}}}{\\sum_j e^{D(z_S^i, z_D^j)/\\mathcal{T}}}
    + \\log \\frac{e^{D(z_D^i, z_S^i)/\\mathcal{T}}}{\\sum_j e^{D(z_D^i, z_S^j)/\\mathcal{T}}}\\Big]

The paper prints Eq. 1 without the log and without the symmetric term; the log (standard
InfoNCE, what the authors' CLIP-style code computes) is used here, symmetrised.

Fusion (Eq. 2): Z_fus = Ψ(Z_seq ‖ Z_text), Ψ = Linear → GELU → Linear.
Genes without a DNA sequence get a learned "missing sequence" vector as z_seq (and are
left out of Eq. 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ModalityEncoder", "ProjectionHead", "info_nce"]


class ProjectionHead(nn.Module):
    """Projection head f_m (module docstring).

    Args:
        in_dim: d_m. out_dim: q_m.
        sigma: σ of the Gaussian transform; None skips it.

    Shapes:
        input ``[N, d_m]`` → output ``[N, q_m]``.
    """

    def __init__(self, in_dim: int, out_dim: int, sigma: float | None = 0.1) -> None:
        super().__init__()
        self.sigma = sigma
        self.lin1 = nn.Linear(in_dim, out_dim)
        self.lin2 = nn.Linear(out_dim, out_dim)
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, x: Tensor) -> Tensor:
        if self.sigma is not None:
            x = torch.exp(-x.pow(2) / (2.0 * self.sigma**2))
        u = self.lin1(x)
        return self.norm(u + self.lin2(F.gelu(u)))


def info_nce(z_s: Tensor, z_d: Tensor, temperature: float = 0.1) -> Tensor:
    """Symmetric InfoNCE of Eq. 1 between paired rows of ``z_s`` and ``z_d`` ``[N, q]``."""
    a, b = F.normalize(z_s, dim=-1), F.normalize(z_d, dim=-1)
    logits = a @ b.t() / temperature
    target = torch.arange(a.shape[0], device=a.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


class ModalityEncoder(nn.Module):
    """Projection heads for text and DNA and the fusion MLP Ψ (Eq. 2).

    Args:
        text_dim, dna_dim: input widths (0 = modality not used).
        hidden: q, width of Z_text, Z_seq, Z_fus.
        sigma: Gaussian-transform σ of the heads.

    Shapes:
        text ``[N, d_text]``, dna ``[N, d_seq]``, dna_mask ``[N]`` bool →
        dict with ``'text'``, ``'seq'`` (present modalities) and ``'fus'``, each ``[N, q]``.
    """

    def __init__(self, text_dim: int, dna_dim: int, hidden: int, sigma: float | None = 0.1) -> None:
        super().__init__()
        if text_dim <= 0 and dna_dim <= 0:
            raise ValueError("at least one modality (text or DNA) is needed")
        self.text_head = ProjectionHead(text_dim, hidden, sigma) if text_dim > 0 else None
        self.dna_head = ProjectionHead(dna_dim, hidden, sigma) if dna_dim > 0 else None
        self.missing_seq = nn.Parameter(torch.zeros(hidden)) if dna_dim > 0 else None
        n_in = hidden * ((text_dim > 0) + (dna_dim > 0))
        self.fusion = nn.Sequential(nn.Linear(n_in, hidden), nn.GELU(), nn.Linear(hidden, hidden))

    def forward(
        self, text: Tensor | None, dna: Tensor | None, dna_mask: Tensor | None = None
    ) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        if self.dna_head is not None:
            if dna is None:
                raise ValueError("this encoder was built with a DNA modality; dna is None")
            z = self.dna_head(dna)
            if dna_mask is not None:
                z = torch.where(dna_mask[:, None], z, self.missing_seq.to(z.dtype))
            out["seq"] = z
        if self.text_head is not None:
            if text is None:
                raise ValueError("this encoder was built with a text modality; text is None")
            out["text"] = self.text_head(text)
        out["fus"] = self.fusion(torch.cat([out[k] for k in ("seq", "text") if k in out], -1))
        return out

    def align_loss(
        self, z: dict[str, Tensor], dna_mask: Tensor | None, temperature: float
    ) -> Tensor:
        """Eq. 1 on the genes with both modalities (0 when a modality is absent)."""
        if "seq" not in z or "text" not in z:
            return z["fus"].new_zeros(())
        keep = (
            torch.ones(z["seq"].shape[0], dtype=torch.bool, device=z["seq"].device)
            if dna_mask is None
            else dna_mask
        )
        if int(keep.sum()) < 2:
            return z["fus"].new_zeros(())
        return info_nce(z["seq"][keep], z["text"][keep], temperature)
