"""Growing and pruning memory: align (distill + consolidate + store examples) and forget."""
