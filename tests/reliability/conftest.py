from .fault_server import fault_server  # noqa: F401  (a fixture)
