// Create or update a Dataset node with its bundle path and counts.
// Parameters: $name, $path (source file), $bundle (bundle folder), $n_cells, $n_genes, $in_kg, $n_conditions, $synthetic, $pert_col, $control (comma list), $created, $src (provenance), $group (import name of a context member, or null), $context (its context value, or null)
MERGE (d:Dataset {name: $name})
SET d.path = $path, d.bundle = $bundle, d.n_cells = $n_cells, d.n_genes = $n_genes,
    d.n_genes_in_kg = $in_kg, d.n_conditions = $n_conditions, d.synthetic = $synthetic,
    d.pert_col = $pert_col, d.control = $control, d.created = $created, d.source = $src,
    d.group = $group, d.context = $context
