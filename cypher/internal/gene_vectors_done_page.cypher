// Those of a page of genes that hold a vector in property $prop made by encoder $model (property $prop + '_model').
// Parameters: $ids (Ensembl ids), $prop (feature property, feat_<modality>), $model (encoder id)
UNWIND $ids AS id
MATCH (g:Gene {ensembl_id: id})
WHERE g[$prop] IS NOT NULL AND g[$prop + '_model'] = $model
RETURN id;
