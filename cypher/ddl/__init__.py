"""Schema and administration commands (constraints, indexes, passwords); never run by
``grape query``."""
