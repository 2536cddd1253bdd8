"""The models the benchmarks train, by run label: for each, the ``grape train`` arguments that
select it (``--model`` and ``--variant``, read from the registry that ``grape models`` lists),
so a bench row is exactly what a user gets with the same variant.

``grape-plus``, the label of earlier result files, is the variant ``shock`` (label
``grape-shock``): the bench's ``--models`` still accepts it and trains ``grape-shock``.
"""

from __future__ import annotations

import argparse

from grapekg.app import registry

#: run label -> ``grape train`` arguments, for every model and variant of the registry
VARIANTS: dict[str, list[str]] = {
    entry.label(v.name): [
        *([] if entry.name == "grape" else ["--model", entry.name]),
        *([] if v.name == "paper" else ["--variant", v.name]),
    ]
    for entry in registry.models().values()
    for v in entry.variants
}
#: labels of earlier result files -> the label that now trains the same settings
ALIASES = {"grape-plus": "grape-shock"}
#: the small sizes the benches train with, per model (``grape train`` refuses an option the
#: model does not take: BioDSNN has no alignment pre-training and no top-k)
SMALL = {
    "grape": ["--align-epochs", "3", "--hidden", "32", "--heads", "2", "--top-k", "2"],
    "biodsnn": ["--hidden", "32", "--heads", "2"],
}


def model_of(label: str) -> str:
    """The model a run label trains (``grape`` unless its arguments name another)."""
    args = VARIANTS[label]
    return args[args.index("--model") + 1] if "--model" in args else "grape"


def small(label: str) -> list[str]:
    """The run label's ``grape train`` arguments with the benches' small sizes."""
    return [*VARIANTS[label], *SMALL[model_of(label)]]


def labels(text: str, parser: argparse.ArgumentParser, option: str = "--models") -> list[str]:
    """Comma-separated run labels (aliases resolved, order kept, no repeats); an unknown one
    is a usage error (exit 2) naming the option and the known labels."""
    out: list[str] = []
    for name in (n.strip() for n in text.split(",") if n.strip()):
        name = ALIASES.get(name, name)
        if name not in VARIANTS:
            known = ", ".join([*VARIANTS, *ALIASES])
            parser.error(f"{option}: unknown model {name!r} (known: {known})")
        if name not in out:
            out.append(name)
    return out
