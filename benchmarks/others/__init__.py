"""The same weights served by other frameworks, for benchmarks/serve.py --compare (installed by the `bench` extra)."""
