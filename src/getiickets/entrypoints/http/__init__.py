"""The Litestar HTTP app: the API contract of shared/API.md."""
