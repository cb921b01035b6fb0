"""Registering, logging in and out, and knowing who is asking."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from getiickets.domain.model.accounts import (
    SESSION_TTL,
    Actor,
    Role,
    Session,
    User,
    canonical_email,
    check_password_rules,
    normalize_email,
    normalize_phone,
)
from getiickets.domain.model.errors import (
    InvalidCredentialsError,
    NotFoundError,
    UnauthenticatedError,
    ValidationError,
)
from getiickets.domain.model.orders import digest_token

if TYPE_CHECKING:
    from getiickets.ports.clock import Clock, IdGenerator
    from getiickets.ports.hot_state import SessionStore
    from getiickets.ports.security import PasswordHasher
    from getiickets.ports.unit_of_work import UnitOfWorkFactory


class Register(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    password: str
    name: str
    phone: str | None = None
    role: Role = Role.BUYER


class LogIn(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    password: str


class SignedIn(msgspec.Struct, frozen=True, kw_only=True):
    user: User
    token: str
    """Shown to the client once; only its digest is stored."""
    session: Session


class Accounts:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        sessions: SessionStore,
        hasher: PasswordHasher,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._sessions = sessions
        self._hasher = hasher
        self._clock = clock
        self._ids = ids
        self._decoy_hash: str | None = None

    async def register(self, command: Register) -> SignedIn:
        email = normalize_email(command.email)
        check_password_rules(command.password)
        if not command.name.strip():
            raise ValidationError("a name is required", field="name")
        user = User(
            id=self._ids.new_id(),
            email=email,
            name=command.name.strip(),
            phone=normalize_phone(command.phone),
            role=command.role,
            password_hash=await self._hasher.hash(command.password),
            created_at=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.users.add(user)
            await uow.commit()
        return await self._sign_in(user)

    async def log_in(self, command: LogIn) -> SignedIn:
        async with self._uow() as uow:
            user = await uow.users.get_by_email(canonical_email(command.email))
        if user is None:
            # Spend the same time as a real check, so response times do not reveal
            # which emails have accounts.
            await self._hasher.verify(await self._decoy(), command.password)
            raise InvalidCredentialsError
        if not await self._hasher.verify(user.password_hash, command.password):
            raise InvalidCredentialsError
        return await self._sign_in(user)

    async def log_out(self, token: str) -> None:
        await self._sessions.delete(digest_token(token))

    async def authenticate(self, token: str) -> Actor:
        session = await self._sessions.get(digest_token(token))
        if session is None or not session.is_live(self._clock.now()):
            raise UnauthenticatedError
        return Actor(user_id=session.user_id, role=session.role)

    async def me(self, actor: Actor) -> User:
        async with self._uow() as uow:
            user = await uow.users.get(actor.user_id)
        if user is None:
            raise NotFoundError("account not found")
        return user

    async def _sign_in(self, user: User) -> SignedIn:
        token = self._ids.new_secret()
        now = self._clock.now()
        session = Session(
            key=digest_token(token),
            user_id=user.id,
            role=user.role,
            created_at=now,
            expires_at=now + SESSION_TTL[user.role],
        )
        await self._sessions.put(session)
        return SignedIn(user=user, token=token, session=session)

    async def _decoy(self) -> str:
        if self._decoy_hash is None:
            self._decoy_hash = await self._hasher.hash(self._ids.new_secret())
        return self._decoy_hash
