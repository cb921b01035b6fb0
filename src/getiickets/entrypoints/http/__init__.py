"""The Litestar HTTP app: the API contract of docs/http-api.md."""
