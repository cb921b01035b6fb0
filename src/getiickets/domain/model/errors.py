"""Every business error, under one base.

Each error carries a stable snake_case ``code`` (the contract clients rely on, see
docs/http-api.md) so the HTTP layer can map errors to problem details in exactly one place.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "domain_error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.__class__.__doc__ or self.code)
        self.detail = detail or (self.__class__.__doc__ or self.code).strip()


class NotFoundError(DomainError):
    """The thing does not exist, or the caller may not see it."""

    code = "not_found"


class ValidationError(DomainError):
    """Input breaks a rule; ``field`` names where, as a dotted path."""

    code = "validation_error"

    def __init__(self, detail: str, *, field: str = "") -> None:
        super().__init__(detail)
        self.field = field


class InvalidMoneyError(ValidationError):
    """An amount of money is not a valid non-negative decimal with at most 2 places."""


class TooManyTicketsError(DomainError):
    """More tickets of one type than its max_per_order allows."""

    code = "too_many_tickets"


class SoldOutError(DomainError):
    """Not enough tickets left; nothing was held."""

    code = "sold_out"


class SalesClosedError(DomainError):
    """The event is not on sale now (not published, or outside the sales window)."""

    code = "sales_closed"


class InvalidStateError(DomainError):
    """The action does not fit the current state (an illegal transition)."""

    code = "invalid_state"


class ConflictError(DomainError):
    """Someone else changed the same thing at the same time; try again."""

    code = "conflict"


class EmailTakenError(DomainError):
    """An account with this email already exists."""

    code = "email_taken"


class InvalidCredentialsError(DomainError):
    """Email or password is wrong."""

    code = "invalid_credentials"


class UnauthenticatedError(DomainError):
    """No valid session."""

    code = "unauthenticated"


class ForbiddenError(DomainError):
    """Authenticated, but not allowed to do this."""

    code = "forbidden"


class InvalidTicketError(DomainError):
    """The ticket is forged, unknown or void."""

    code = "invalid_ticket"


class WrongEventError(DomainError):
    """The ticket is genuine but belongs to another event."""

    code = "wrong_event"


class InvalidSignatureError(DomainError):
    """The webhook's signature does not match its body."""

    code = "invalid_signature"


class IdempotencyConflictError(DomainError):
    """The idempotency key was already used with a different request."""

    code = "idempotency_conflict"


class DuplicateError(DomainError):
    """A unique fact was recorded twice (a unique constraint held)."""

    code = "duplicate"


class PaymentProviderUnavailableError(DomainError):
    """The payment provider could not be reached after retries."""

    code = "payment_provider_unavailable"


class PaymentProviderError(DomainError):
    """The payment provider refused the request (bad key, invalid data)."""

    code = "payment_provider_error"


PAYMENT_PROVIDER_TROUBLE = (PaymentProviderUnavailableError, PaymentProviderError)
"""The provider did not act, unreachable or refusing: worth trying again later."""


class CheckoutUnavailableError(PaymentProviderError):
    """The provider has a transaction for this reference but will not hand its checkout
    link out again (the first answer was lost). Taking the payment needs a new reference."""


class CacheUnavailableError(DomainError):
    """The hot-state store (sessions, inventory) cannot be reached right now."""

    code = "cache_unavailable"


class DatabaseUnavailableError(DomainError):
    """The database cannot be reached right now (stopped, restarting, no free connection)."""

    code = "database_unavailable"


class RateLimitedError(DomainError):
    """Too many attempts; wait before trying again."""

    code = "rate_limited"


class UnsupportedMediaTypeError(DomainError):
    """The file's type is not one we accept here, or its bytes do not match it."""

    code = "unsupported_media_type"


class PayloadTooLargeError(DomainError):
    """The file is larger than allowed."""

    code = "payload_too_large"


class QueueRequiredError(DomainError):
    """This event's queue is on: join it, and order with the admission token you get."""

    code = "queue_required"

    def __init__(self, detail: str, *, queue_url: str) -> None:
        super().__init__(detail)
        self.queue_url = queue_url


class InvalidAdmissionError(DomainError):
    """The admission token is forged, expired, used up, or for another event."""

    code = "invalid_admission"
