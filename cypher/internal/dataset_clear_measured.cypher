// Delete the MEASURED_IN relationships of a dataset (step of re-registering it).
// Parameters: $name (dataset name)
MATCH (:Gene)-[m:MEASURED_IN]->(:Dataset {name: $name})
DELETE m
