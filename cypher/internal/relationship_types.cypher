// Relationship types present in the database.
// Parameters: none
CALL db.relationshipTypes()
