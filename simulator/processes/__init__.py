"""Person-level processes: pure functions over population columns, one module per process."""
