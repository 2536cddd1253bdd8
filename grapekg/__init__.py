"""grape-kg: a Neo4j gene knowledge graph and GRAPE perturbation models.

Subpackages: :mod:`grapekg.kg` (schema, adapters, local Neo4j server, loader),
:mod:`grapekg.model` (pure torch / PyG code), :mod:`grapekg.cli` (the ``grape`` command).
Nothing here reads configuration at import time.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
