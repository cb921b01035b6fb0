"""The getiickets domain: the pure model and the use cases that run it through ports.

Other services import it directly; it needs nothing beyond the standard library,
msgspec and tzdata: the bare ``pip install getiickets`` (see the README for a purchase
run on the in-memory adapters).
"""
