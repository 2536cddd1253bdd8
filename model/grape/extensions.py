"""The GRAPE extensions, in the one order that builds, registers and applies them.

Each key is the extension's :class:`~grapekg.model.grape.config.GrapeConfig` setting (off
when False or None), each value its :class:`~grapekg.model.grape.extension.GrapeExtension`
class. The order is the order of construction (so of the random draws of their
initialisation and of ``model.parameters()``) and, within a
:class:`~grapekg.model.grape.extension.Stage`, of their contributions to the prediction.
Adding an extension is one module and one line here, appended at the end (an extension
placed earlier would change the initial weights of every model that uses a later one).
"""

from __future__ import annotations

from grapekg.model.grape.control_input import ControlInput
from grapekg.model.grape.extension import GrapeExtension
from grapekg.model.grape.pert_channel import PerturbationChannel
from grapekg.model.grape.prior_shock import PriorShock
from grapekg.model.grape.self_term import SelfKnockdown
from grapekg.model.grape.single_anchor import SingleAnchor

__all__ = ["EXTENSIONS"]

#: GrapeConfig setting -> extension class
EXTENSIONS: dict[str, type[GrapeExtension]] = {
    "pert_channel": PerturbationChannel,
    "self_term": SelfKnockdown,
    "control_input": ControlInput,
    "prior_shock": PriorShock,
    "single_anchor": SingleAnchor,
}
