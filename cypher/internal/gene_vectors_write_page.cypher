// Store feature vectors on a page of genes: each row's props map sets feat_<modality> and feat_<modality>_model.
// Parameters: $rows (list of {id: Ensembl id, props: {feat_<modality>: [floats], feat_<modality>_model: encoder id}})
UNWIND $rows AS row
MATCH (g:Gene {ensembl_id: row.id})
SET g += row.props
