// Delete the Condition nodes of a dataset (first step of re-registering it).
// Parameters: $name (dataset name)
MATCH (d:Dataset {name: $name})
OPTIONAL MATCH (d)-[:HAS_CONDITION]->(c:Condition)
DETACH DELETE c
