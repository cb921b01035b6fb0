"""Password hashing with Argon2id (argon2-cffi)."""

from getiickets.adapters.passwords.argon2 import Argon2PasswordHasher

__all__ = ["Argon2PasswordHasher"]
