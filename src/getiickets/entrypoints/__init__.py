"""Composition root, HTTP app, CLI and worker."""
