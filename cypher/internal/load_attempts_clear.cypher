// Delete the attempt Source nodes of one source (this one, or attempts of earlier loads that were killed): they are superseded by a finished or rolled-back load.
// Parameters: $name, $prefix (version prefix '<version>+load.')
MATCH (s:Source {name: $name})
WHERE s.version STARTS WITH $prefix AND s.status = 'loading'
DELETE s
