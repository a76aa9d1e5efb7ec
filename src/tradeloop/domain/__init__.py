"""Pure domain types and rules: no I/O, no clock reads, only Python and numpy."""
