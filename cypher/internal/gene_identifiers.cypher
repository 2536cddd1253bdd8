// Identifiers of every gene (Ensembl id, symbol, Entrez id, UniProt accessions, chromosome), for resolving external ids.
// Parameters: none
MATCH (g:Gene)
RETURN g.ensembl_id AS ensembl_id, g.symbol AS symbol, g.entrez_id AS entrez_id,
       g.uniprot_ids AS uniprot_ids, g.chrom AS chrom;
