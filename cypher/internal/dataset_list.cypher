// Every registered dataset with its counts, group / context and bundle folder, by name.
// Parameters: none
MATCH (d:Dataset)
RETURN d.name AS name, d.group AS group, d.context AS context, d.n_cells AS cells,
       d.n_genes AS genes, d.n_genes_in_kg AS in_kg, d.n_conditions AS conditions,
       d.synthetic AS synthetic, d.bundle AS bundle
ORDER BY name;
