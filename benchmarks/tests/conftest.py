"""The harness's tests share the product tests' fixtures (a store, a spec, a fake judge)."""

from tests.conftest import make_judge, spec, store

__all__ = ["make_judge", "spec", "store"]
