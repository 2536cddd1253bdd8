// The kind of one registered dataset ('labels' for a label dataset, null for an expression dataset); no row when absent.
// Parameters: $name (dataset name)
MATCH (d:Dataset {name: $name})
RETURN d.kind AS kind;
