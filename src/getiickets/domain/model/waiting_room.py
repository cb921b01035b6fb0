"""The waiting room's rules: who is let in, when, and how a place in line is proven.

Everything here is pure arithmetic over integers (times are microseconds since the
epoch), so the Redis adapter's Lua can do exactly the same sums and the contract
suite can hold it to them.

The line is ordered by a *score*:

- a buyer who joins before ``opens_at`` gets a random score below ``LATE``: ordering
  by independent uniform draws is a uniform shuffle, decided for everyone who came
  early at once, as if shuffled at ``opens_at``;
- after that, ``LATE + sequence``: first come, first served, always behind the early
  ones, so nobody already admitted ever sees someone slip in ahead.

The admitted buyers are always a prefix of the line (``frontier`` entries). The
frontier moves by time alone (``admit``): one buyer per ``interval`` (60 s divided by
``admit_per_minute``), never before the buyer's arrival or ``opens_at``. Time nobody
waited is not saved up for a burst later, so the rate holds whoever asks and however
often.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import msgspec

from getiickets.domain.model.accounts import canonical_email
from getiickets.domain.model.errors import ValidationError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
MINUTE_US = 60_000_000

LATE = 2**52
"""Scores of buyers who joined after the queue opened start here; early draws are
below it. Scores stay exact integers as doubles (Redis sorted sets) up to 2**53."""

MAX_ADMIT_PER_MINUTE = 100_000
MAX_SESSION_MINUTES = 24 * 60
MAX_PER_ADMISSION = 100

REBUILD_WINDOW = timedelta(seconds=30)
"""After the line's state was lost (a Redis restart without persistence, a flush),
nobody is admitted for this long while the waiting pages re-register their places
from their signed tokens. Longer than the slowest poll (``MAX_POLL_SECONDS``) twice."""

MIN_POLL_SECONDS = 2
MAX_POLL_SECONDS = 15


class QueueSettings(msgspec.Struct, frozen=True, kw_only=True):
    """An event's waiting room, as its organizer set it."""

    event_id: str
    enabled: bool = False
    admit_per_minute: int = 60
    session_minutes: int = 10
    max_active: int | None = None
    opens_at: datetime | None = None
    max_per_admission: int = 1

    def __post_init__(self) -> None:
        _within("admit_per_minute", self.admit_per_minute, 1, MAX_ADMIT_PER_MINUTE)
        _within("session_minutes", self.session_minutes, 1, MAX_SESSION_MINUTES)
        _within("max_per_admission", self.max_per_admission, 1, MAX_PER_ADMISSION)
        if self.max_active is not None:
            _within("max_active", self.max_active, 1, 10_000_000)
        if self.opens_at is not None and self.opens_at.tzinfo is None:
            raise ValidationError("opens_at needs a timezone offset", field="opens_at")

    @property
    def interval_us(self) -> int:
        return admission_interval_us(self.admit_per_minute)

    def pace(self, now: datetime) -> Pace:
        return Pace(
            now_us=to_us(now),
            interval_us=self.interval_us,
            session_us=self.session_minutes * MINUTE_US,
            max_active=self.max_active,
            not_before_us=to_us(self.opens_at) if self.opens_at else 0,
            rebuild_us=REBUILD_WINDOW // MICROSECOND,
        )


def _within(field: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValidationError(f"{field} must be between {low} and {high}", field=field)


class Pace(msgspec.Struct, frozen=True, kw_only=True):
    """What one step of the line needs to know: the time, and the settings as numbers."""

    now_us: int
    interval_us: int
    session_us: int
    max_active: int | None
    not_before_us: int
    """``opens_at``, or 0: nobody is admitted before it."""
    rebuild_us: int


def to_us(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def from_us(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def admission_interval_us(admit_per_minute: int) -> int:
    """Time between two admissions. Rounded down to the microsecond: at most 1/600 of
    the rate at the 100,000-per-minute limit, and far less below it."""
    return MINUTE_US // admit_per_minute


def is_early(*, now_us: int, not_before_us: int, opened: bool) -> bool:
    """Whether a buyer joining now is in the pre-queue shuffled at ``opens_at``.

    ``opened`` is the line's own record that someone saw ``opens_at`` pass: a process
    whose clock lags cannot put an early joiner ahead of buyers already admitted.
    """
    return not opened and now_us < not_before_us


def score(*, early: bool, sequence: int, draw: int) -> int:
    """The place in line: a uniform draw for early joiners, join order after.

    ``sequence`` counts joins from the time (in microseconds) the line's state was made,
    so buyers who join after a lost line is rebuilt stay behind those who joined before
    the loss and come back with their tokens (their sequences are smaller).
    """
    if early:
        if not 0 <= draw < LATE:
            raise ValueError("an early draw must be in [0, LATE)")
        return draw
    if not 0 <= sequence < LATE:
        raise ValueError("a sequence must be in [0, LATE)")
    return LATE + sequence


def arrival_us(*, early: bool, now_us: int, not_before_us: int) -> int:
    """When a buyer counts as arrived: early joiners all arrive at ``opens_at``."""
    return not_before_us if early else now_us


class Admitted(msgspec.Struct, frozen=True, kw_only=True):
    at_us: tuple[int, ...]
    """When each newly admitted buyer (in line order) was let in."""
    next_at_us: int
    """The earliest time the next buyer may be let in."""


def admit(
    *,
    next_at_us: int,
    arrivals_us: Iterable[int],
    now_us: int,
    interval_us: int,
    not_before_us: int = 0,
    room: int | None = None,
) -> Admitted:
    """Let in the waiting buyers (``arrivals_us``, in line order) that time allows.

    Buyer ``i`` enters at ``max(previous entry + interval, own arrival, opens_at)``, if
    that is not after ``now``. Asking more often changes nothing; asking after a long
    idle spell admits no burst, since each entry is spaced ``interval`` after the one
    before. ``room`` (``max_active`` minus the live admissions) caps how many enter now;
    the time the room stays full is not saved up either.
    """
    admitted: list[int] = []
    for arrival in arrivals_us:
        at = max(next_at_us, arrival, not_before_us)
        if at > now_us:
            break
        if room is not None and len(admitted) >= room:
            next_at_us = max(next_at_us, now_us)
            break
        admitted.append(at)
        next_at_us = at + interval_us
    return Admitted(at_us=tuple(admitted), next_at_us=next_at_us)


def estimated_wait_us(*, ahead: int, next_at_us: int, pace: Pace) -> int:
    """How long until a buyer with ``ahead`` others before them is let in, if all stay."""
    start = max(next_at_us, pace.now_us, pace.not_before_us)
    return start - pace.now_us + ahead * pace.interval_us


def poll_seconds(estimated_wait_seconds: int) -> int:
    """How often the waiting page asks: often near the front, seldom far back."""
    return max(MIN_POLL_SECONDS, min(MAX_POLL_SECONDS, estimated_wait_seconds // 10))


def email_key(email: str) -> str:
    """The line keeps a digest of the email, not the address."""
    return hashlib.sha256(canonical_email(email).encode()).hexdigest()[:32]


# ---------------------------------------------------------------- tokens


class QueuePlace(msgspec.Struct, frozen=True, array_like=True):
    """What a queue token proves: this entry, of this event, with this place in line.

    Score and arrival ride along so the line can be rebuilt from the tokens the
    waiting pages hold if its state is lost.
    """

    event_id: str
    entry_id: str
    score: int
    arrival_us: int


class AdmissionPass(msgspec.Struct, frozen=True, array_like=True):
    """What an admission token proves: this entry of this event may order until then."""

    event_id: str
    entry_id: str
    expires_us: int


_T = TypeVar("_T")
_QUEUE = b"queue-token:v1"
_ADMISSION = b"admission-token:v1"


class TokenSealer:
    """HMAC-SHA256 seals: unforgeable without the key, readable by nobody's guess.

    Each kind of token has its own domain-separated key, so a queue token is never
    accepted as an admission token or the other way round.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:  # noqa: PLR2004 - 128 bits at least
            raise ValueError("the token key is too short")
        # Keyed once: a copy of a keyed HMAC skips hashing the key's two padded blocks,
        # about half of sealing a token; the MAC is the same HMAC-SHA256 as before.
        self._keyed = {
            kind: hmac.new(hmac.digest(key, kind, "sha256"), digestmod=hashlib.sha256)
            for kind in (_QUEUE, _ADMISSION)
        }

    def seal_place(self, place: QueuePlace) -> str:
        return self._seal(_QUEUE, msgspec.json.encode(place))

    def open_place(self, token: str) -> QueuePlace | None:
        payload = self._open(_QUEUE, token)
        return None if payload is None else _decoded(payload, QueuePlace)

    def seal_admission(self, admission: AdmissionPass) -> str:
        return self._seal(_ADMISSION, msgspec.json.encode(admission))

    def open_admission(self, token: str) -> AdmissionPass | None:
        payload = self._open(_ADMISSION, token)
        return None if payload is None else _decoded(payload, AdmissionPass)

    def _seal(self, kind: bytes, payload: bytes) -> str:
        return f"{_b64(payload)}.{_b64(self._mac(kind, payload))}"

    def _mac(self, kind: bytes, payload: bytes) -> bytes:
        keyed = self._keyed[kind].copy()
        keyed.update(payload)
        return keyed.digest()

    def _open(self, kind: bytes, token: str) -> bytes | None:
        body, _, mac = token.partition(".")
        try:
            payload, given = _unb64(body), _unb64(mac)
        except (binascii.Error, ValueError):
            return None
        return payload if hmac.compare_digest(self._mac(kind, payload), given) else None


def _decoded(payload: bytes, kind: type[_T]) -> _T | None:
    try:
        return msgspec.json.decode(payload, type=kind)
    except msgspec.DecodeError:
        return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if len(text) > 1024:  # noqa: PLR2004 - no token of ours is this long
        raise ValueError("too long")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
