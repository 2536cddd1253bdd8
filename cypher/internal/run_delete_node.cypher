// Delete a model run's node (its edges must have been cleared first).
// Parameters: $id (run id)
MATCH (m:ModelRun {id: $id})
DETACH DELETE m
RETURN count(*) AS deleted;
