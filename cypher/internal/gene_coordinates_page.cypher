// Stored sequence (if any), symbol and genomic coordinates of a page of genes.
// Parameters: $ids (Ensembl ids)
UNWIND $ids AS id
MATCH (g:Gene {ensembl_id: id})
RETURN id, g.sequence AS seq, g.symbol AS symbol, g.chrom AS chrom, g.start AS start,
       g.end AS end, g.strand AS strand;
