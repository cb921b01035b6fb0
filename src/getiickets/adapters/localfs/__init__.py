"""Local-directory file storage with HMAC-signed links (the embedded default)."""

from getiickets.adapters.localfs.storage import LocalFileStorage

__all__ = ["LocalFileStorage"]
