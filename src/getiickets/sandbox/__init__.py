"""Local simulators of the Paystack, Brevo and Twilio HTTP APIs.

Faithful to ``docs/providers.md``: same paths, request validation,
response and error shapes, status codes and headers. Used by the embedded default
(mounted in the app), the demo, and the adapters' contract tests (standalone).
"""
