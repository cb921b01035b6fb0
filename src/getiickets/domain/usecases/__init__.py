"""Use cases: one module per capability. They call ports only, never adapters.

Each capability is a class built once (by the composition root, or by a test) with
the ports it needs; every call takes a fresh unit of work.
"""
