"""Benchmarks that reproduce the published MemAlign experiments (learning curves, cost,
ablations). Dataset files are read from a data directory given at run time, never copied."""
