"""Redis adapters (redis-py asyncio): inventory, login sessions and the read cache."""
