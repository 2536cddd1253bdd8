// The bundle folder of one dataset.
// Parameters: $name (dataset name)
MATCH (d:Dataset {name: $name})
RETURN d.bundle AS b;
