"""Route handlers, one module per part of docs/http-api.md."""
