"""The data-driven stream: a VAE over the unperturbed expression (BioDSNN Eq. 2-4).

Encoder x -> widths... -> (mu, log sigma^2) of q_phi(z | x) (``latent`` dims); z = mu + sigma
* eps in training (reparameterisation), z = mu in eval (a deterministic prediction);
decoder z -> reversed widths -> G. Two choices differ from the authors' ``VAE.py``, both
documented here:

- the decoder ends in Softplus (non-negative, unbounded) instead of Sigmoid: log-normalised
  expression reaches ~5, which a Sigmoid cannot regenerate;
- the decoder's last layer starts at weights x 0.01 and the bias softplus^-1(control mean), so
  training starts from regenerating the control mean (GEARS' residual, the no-change
  baseline) instead of from random profiles (``init``; None = PyTorch's default init);
- the regenerated expression is kept only where the control group's expression is non-zero
  (the paper: "only regenerate the gene expressions that are originally non-zero values in the
  control group"; the authors mask where the input cell is zero). ``keep`` is that mask.

The module is created in ``__init__`` and registered (the authors create it inside
``forward``, so it was never trained).

KL term, Eq. 4 (the paper writes the ELBO's -D_KL; the loss minimises D_KL):

    L_KL = -1/2 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2),   averaged over the batch.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["ExpressionVAE", "kl_divergence"]


def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    """Eq. 4: D_KL(N(mu, sigma^2) || N(0, I)) summed over latent dims, mean over the batch."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)).mean()


def _mlp(widths: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)


class ExpressionVAE(nn.Module):
    """VAE of a ``[B, G]`` expression batch. ``forward(x)`` -> (recon ``[B, G]`` masked by
    ``keep``, mu, logvar)."""

    def __init__(
        self,
        num_genes: int,
        widths: list[int],
        latent: int,
        keep: Tensor,
        init: Tensor | None = None,
    ) -> None:
        super().__init__()
        enc = [num_genes, *widths]
        self.encoder = _mlp(enc)
        self.mu = nn.Linear(enc[-1], latent)
        self.logvar = nn.Linear(enc[-1], latent)
        dec = [latent, *reversed(widths)]
        self.decoder = nn.Sequential(_mlp(dec), nn.Linear(dec[-1], num_genes), nn.Softplus())
        self.register_buffer("keep", keep.to(torch.float32))
        if init is not None:
            last = self.decoder[1]
            with torch.no_grad():
                last.weight.mul_(0.01)
                x = init.to(torch.float32).clamp(min=1e-4)
                last.bias.copy_(x + torch.log(-torch.expm1(-x)))  # softplus^-1

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        h = self.encoder(x)
        mu, logvar = self.mu(h), self.logvar(h).clamp(-10, 10)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return self.decoder(z) * self.keep, mu, logvar
