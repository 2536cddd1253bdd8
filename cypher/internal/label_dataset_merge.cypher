// Create or update the Dataset node of a label dataset ((perturbation, gene, 0/1 label) pairs): kind 'labels', its task, cell line, modality and counts.
// Parameters: $name, $path (source file), $bundle (bundle folder), $task ('de' or 'direction'), $cell_line, $modality, $n_pairs, $n_genes (downstream genes), $in_kg (downstream genes in the KG), $n_conditions (perturbations), $pert_col, $synthetic (boolean), $created, $src (provenance)
MERGE (d:Dataset {name: $name})
SET d.kind = 'labels', d.path = $path, d.bundle = $bundle, d.task = $task,
    d.cell_line = $cell_line, d.modality = $modality, d.n_pairs = $n_pairs,
    d.n_cells = null, d.n_genes = $n_genes, d.n_genes_in_kg = $in_kg,
    d.n_conditions = $n_conditions, d.synthetic = $synthetic, d.pert_col = $pert_col,
    d.control = null, d.created = $created, d.source = $src, d.group = null, d.context = null
