// Record a load attempt of one source as its own Source node (version '<version>+load.<id>', status 'loading'), leaving the source's complete record untouched.
// Parameters: $name, $attempt (version of the attempt node), $load (staging id), $licence, $url, $retrieved, $now (ISO time)
MERGE (s:Source {name: $name, version: $attempt})
SET s.licence = $licence, s.url = $url, s.retrieved = $retrieved, s.status = 'loading',
    s.updated = datetime($now), s.load = $load
