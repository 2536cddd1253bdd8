// Delete a Dataset node with its Condition nodes and MEASURED_IN relationships (a context
// that a re-import of its group no longer has).
// Parameters: $name (dataset name)
MATCH (d:Dataset {name: $name})
OPTIONAL MATCH (d)-[:HAS_CONDITION]->(c:Condition)
DETACH DELETE c, d
