"""``grape models``: the models ``grape train`` knows and their named variants."""

from __future__ import annotations

from grapekg.cli.console import console, table


def models() -> None:
    """List the models and their variants (``grape train --model M --variant V``)."""
    from grapekg.app import registry

    rows = []
    for entry in registry.models().values():
        for v in entry.variants:
            rows.append(
                [
                    entry.name,
                    v.name,
                    entry.label(v.name),
                    v.description,
                    " ".join(v.settings) or "-",
                ]
            )
    console.print(
        table("Models and variants", ["model", "variant", "run label", "what it is", "--set"], rows)
    )
    console.print(
        "train one with: grape train --dataset NAME --model MODEL --variant VARIANT "
        "(--set KEY=VALUE still tunes any setting)"
    )
