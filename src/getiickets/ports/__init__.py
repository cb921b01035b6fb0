"""Ports: the narrow interfaces (``typing.Protocol``) the use cases call.

Adapters implement them; the in-memory fakes in ``getiickets.adapters.memory`` are
proven to behave like the real adapters by the contract suites in ``tests/contract``.
"""
