"""memalign's benchmark harness: datasets, learning curves, ablations, DSPy baselines and the
reports and plots of docs/benchmarks. A tool beside the product, not part of its wheel."""
