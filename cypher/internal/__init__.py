"""Internal Cypher: statements the library runs (writes, DDL, paging); never run by grape query."""
