"""``grape features compute``: gene feature vectors into Neo4j (vector index) and the cache."""

from __future__ import annotations

from typing import Annotated

import typer

from grapekg.cli.common import open_store, settings
from grapekg.cli.console import console, progress_counter, table

app = typer.Typer(
    help="Gene features: text (descriptions), DNA language model, k-mers.", no_args_is_help=True
)


@app.command()
def compute(
    modality: Annotated[str, typer.Option(help="text, dna or kmer")],
    genes: Annotated[str, typer.Option(help="all, dataset:NAME, or a file of ids/symbols")] = "all",
    model: Annotated[
        str | None,
        typer.Option(help="HF name or local path (text default: offline all-MiniLM-L6-v2)"),
    ] = None,
    pooling: Annotated[str, typer.Option(help="text: mean|cls; dna: first|mean")] = "mean",
    enrich: Annotated[
        bool, typer.Option(help="text: append GO BP term and Reactome pathway names")
    ] = False,
    fasta: Annotated[
        str | None, typer.Option(help="dna/kmer: indexed genome FASTA cut by KG coordinates")
    ] = None,
    sequences: Annotated[
        str | None,
        typer.Option(
            help="dna/kmer: FASTA of gene sequences named by Ensembl id or symbol "
            "(e.g. transcripts, miRNA hairpins)"
        ),
    ] = None,
    names: Annotated[
        str,
        typer.Option(
            help="--sequences record names: plain (id or symbol) or mirbase (hsa-mir-21 -> MIR21)"
        ),
    ] = "plain",
    k: Annotated[int, typer.Option(min=1, max=8, help="kmer: k")] = 4,
    window: Annotated[int, typer.Option(min=16, help="dna: nucleotides per window")] = 6000,
    trust_remote_code: Annotated[
        bool, typer.Option(help="dna: HyenaDNA checkpoints need it")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    device: Annotated[str, typer.Option(help="cpu or cuda")] = "cpu",
) -> None:
    """Encode genes and store the vectors on Gene nodes; resumable (done genes are skipped).
    Under ``torchrun -m grapekg.cli features compute ...`` each process encodes a share of the
    genes and the first one writes the cache and Neo4j."""
    from grapekg.app.features import FeatureOptions, compute_features

    s = settings()
    opts = FeatureOptions(
        modality,
        genes,
        model,
        pooling,
        enrich,
        fasta,
        sequences,
        names,
        k,
        window,
        trust_remote_code,
        batch_size,
        device,
    )
    with open_store(s) as store:
        rep = compute_features(store, s, opts, progress=progress_counter)
    console.print(
        table(
            "Features",
            ["modality", "model", "genes", "with vector", "dim"],
            [[rep.modality, rep.model_id, rep.genes, rep.with_vector, rep.dim]],
        )
    )
