// The next page of genes in Ensembl-id order (keyset pagination), optionally of one biotype class.
// Parameters: $after (last ensembl_id of the previous page, '' at the start), $cls ('c', 'nc' or null for all), $page (page size)
MATCH (g:Gene)
WHERE g.ensembl_id > $after AND ($cls IS NULL OR g.biotype_class = $cls)
RETURN g.ensembl_id AS id
ORDER BY id
LIMIT $page;
