"""``grape features compute``: gene feature vectors into Neo4j (vector index) and the cache."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from grapekg.cli.common import open_store, settings
from grapekg.cli.console import console, progress_counter, table
from grapekg.errors import ConfigError
from grapekg.kg import features as kgf

app = typer.Typer(help="Gene features: text (descriptions), DNA language model, k-mers.", no_args_is_help=True)
CHUNK = 512


@app.command()
def compute(
    modality: Annotated[str, typer.Option(help="text, dna or kmer")],
    genes: Annotated[str, typer.Option(help="all, dataset:NAME, or a file of ids/symbols")] = "all",
    model: Annotated[str | None, typer.Option(help="HF name or local path (text default: offline all-MiniLM-L6-v2)")] = None,
    pooling: Annotated[str, typer.Option(help="text: mean|cls; dna: first|mean")] = "mean",
    enrich: Annotated[bool, typer.Option(help="text: append GO BP term and Reactome pathway names")] = False,
    fasta: Annotated[str | None, typer.Option(help="dna/kmer: indexed genome FASTA cut by KG coordinates")] = None,
    sequences: Annotated[str | None, typer.Option(help="dna/kmer: FASTA of gene sequences named by Ensembl id or symbol (e.g. transcripts, miRNA hairpins)")] = None,
    names: Annotated[str, typer.Option(help="--sequences record names: plain (id or symbol) or mirbase (hsa-mir-21 -> MIR21)")] = "plain",
    k: Annotated[int, typer.Option(min=1, max=8, help="kmer: k")] = 4,
    window: Annotated[int, typer.Option(min=16, help="dna: nucleotides per window")] = 6000,
    trust_remote_code: Annotated[bool, typer.Option(help="dna: HyenaDNA checkpoints need it")] = False,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    device: Annotated[str, typer.Option(help="cpu or cuda")] = "cpu",
) -> None:
    """Encode genes and store the vectors on Gene nodes; resumable (done genes are skipped)."""
    s = settings()
    cache = s.cache_dir / "embeddings"
    with open_store(s) as store:
        ids = kgf.gene_ids_for(store, genes)
        if modality == "text":
            from grapekg.model.features.text import TextEncoder

            enc = TextEncoder(model, pooling=pooling, batch_size=batch_size, device=device,  # type: ignore[arg-type]
                              cache_dir=cache)
            model_id = enc.model_id + ("|enriched" if enrich else "")
            todo = kgf.genes_missing(store, ids, "text", model_id)
            with progress_counter("text features", len(todo)) as advance:
                for page in kgf.iter_pages(todo, CHUNK):
                    texts = kgf.gene_texts(store, page, enrich=enrich)
                    vec = enc.encode([texts[g] for g in page])
                    kgf.write_vectors(store, "text", model_id, page, vec, advance)
        elif modality in ("dna", "kmer"):
            todo = kgf.genes_missing(store, ids, modality, f"{modality}|pending")
            if modality == "dna":
                if not model:
                    raise ConfigError("--modality dna needs --model (a DNA language model name or path)")
                from grapekg.model.features.dna import DnaEncoder

                dna = DnaEncoder(model, window=window, pooling=pooling if pooling in ("first", "mean") else "first",  # type: ignore[arg-type]
                                 batch_size=batch_size, trust_remote_code=trust_remote_code,
                                 device=device, cache_dir=cache)
                model_id = dna.model_id
            else:
                from grapekg.model.features.kmer import kmer_matrix

                model_id = f"kmer|k={k}"
            named = None
            if sequences:
                if names not in ("plain", "mirbase"):
                    raise ConfigError(f"--names '{names}': use plain or mirbase")
                from grapekg.model.features.named_fasta import read_named_fasta

                named = read_named_fasta(sequences, names)  # type: ignore[arg-type]
                model_id += f"|seqs={Path(sequences).name}"
            todo = kgf.genes_missing(store, ids, modality, model_id)
            n_seq = 0
            with progress_counter(f"{modality} features", len(todo)) as advance:
                for page in kgf.iter_pages(todo, CHUNK):
                    seqs = kgf.gene_sequences(store, page, fasta, named)
                    if modality == "dna":
                        vec, mask = dna.encode(seqs)
                    else:
                        vec, mask = kmer_matrix(seqs, k)
                    n_seq += int(mask.sum())
                    if vec.shape[1]:
                        vec = vec.astype(np.float32)
                        vec[~mask] = np.nan  # no sequence: no feature
                        kgf.write_vectors(store, modality, model_id, page, vec, advance)
                    else:
                        advance(len(page))
            if todo and n_seq == 0:
                raise ConfigError("no gene had a sequence: give --fasta GENOME.fa (indexed), "
                                  "--sequences GENES.fa, or store a 'sequence' property on Gene nodes")
        else:
            raise ConfigError(f"--modality '{modality}': use text, dna or kmer")
        mat, mask = kgf.read_vectors(store, modality, ids)
    console.print(table("Features", ["modality", "model", "genes", "with vector", "dim"],
                        [[modality, model_id, len(ids), int(mask.sum()), mat.shape[1]]]))
