"""Public-key signatures for ticket codes (the ``cryptography`` package)."""

from getiickets.adapters.crypto.ed25519 import Ed25519TicketSigner

__all__ = ["Ed25519TicketSigner"]
