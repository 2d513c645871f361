"""Bridges to the platforms where judges already live (MLflow: ``memalign.integrations.mlflow``).

Each integration is a subpackage that imports its platform's SDK itself, lazily, with an install
hint: ``import memalign`` and the rest of the CLI never need it.
"""
