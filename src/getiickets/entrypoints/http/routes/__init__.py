"""Route handlers, one module per part of API.md."""
