"""/auth: register, log in and out, who am I."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import JSONBody, SkipValidation

from getiickets.domain.model.accounts import Actor, canonical_email
from getiickets.domain.model.errors import RateLimitedError
from getiickets.domain.usecases.accounts import Accounts, LogIn, Register, SignedIn
from getiickets.entrypoints.http.dependencies import SESSION_COOKIE, bearer_token, requires_sign_in
from getiickets.entrypoints.http.errors import documented
from getiickets.entrypoints.http.schemas import (
    LoginBody,
    MeOut,
    RegisterBody,
    SessionOut,
    user_view,
)
from getiickets.entrypoints.settings import Settings
from getiickets.ports.hot_state import RateLimiter

LOGIN_ATTEMPTS_PER_EMAIL = 10
LOGIN_ATTEMPTS_PER_CLIENT = 50
LOGIN_WINDOW = timedelta(minutes=5)


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        "/register", operation_id="register", status_code=201, responses=documented(400, 409, 422)
    )
    async def register(
        self,
        data: JSONBody[RegisterBody],
        accounts: NamedDependency[Accounts],
        settings: NamedDependency[Settings],
    ) -> Response[SessionOut]:
        signed = await accounts.register(
            Register(
                email=data.email,
                password=data.password,
                name=data.name,
                phone=data.phone,
                role=data.role,
            )
        )
        return _session_response(signed, settings, status_code=201)

    @post("/login", operation_id="login", status_code=200, responses=documented(400, 401, 422, 429))
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginBody],
        rate_limiter: NamedDependency[SkipValidation[RateLimiter]],
        accounts: NamedDependency[Accounts],
        settings: NamedDependency[Settings],
    ) -> Response[SessionOut]:
        client = request.client.host if request.client else "unknown"
        email = canonical_email(data.email)
        # Both limits count every attempt: per email stops guessing one account's
        # password, per client stops trying one password on many accounts.
        allowed = await rate_limiter.hit(
            f"login:email:{email}", LOGIN_ATTEMPTS_PER_EMAIL, LOGIN_WINDOW
        )
        allowed &= await rate_limiter.hit(
            f"login:client:{client}", LOGIN_ATTEMPTS_PER_CLIENT, LOGIN_WINDOW
        )
        if not allowed:
            raise RateLimitedError("too many login attempts; wait a few minutes")
        signed = await accounts.log_in(LogIn(email=data.email, password=data.password))
        return _session_response(signed, settings, status_code=200)

    @post(
        "/logout",
        operation_id="logout",
        status_code=204,
        responses=documented(401),
        guards=[requires_sign_in],
        # Always sent on success: the browser forgets the session cookie along with it.
        response_cookies=[Cookie(key=SESSION_COOKIE, value="", path="/", max_age=0, expires=0)],
    )
    async def logout(
        self, request: Request[Any, Any, Any], accounts: NamedDependency[Accounts]
    ) -> None:
        # Returning None (not a Response) makes the OpenAPI 204 declare no body.
        token = bearer_token(request)
        if token is not None:
            await accounts.log_out(token)

    @get("/me", operation_id="me", responses=documented(401), guards=[requires_sign_in])
    async def me(self, user: NamedDependency[Actor], accounts: NamedDependency[Accounts]) -> MeOut:
        return MeOut(user=user_view(await accounts.me(user)))


def _session_response(
    signed: SignedIn, settings: Settings, *, status_code: int
) -> Response[SessionOut]:
    expires_in = int(signed.session.ttl.total_seconds())
    cookie = Cookie(
        key=SESSION_COOKIE,
        value=signed.token,
        max_age=expires_in,
        httponly=True,
        samesite="lax",
        secure=not settings.is_embedded,
        path="/",
    )
    return Response(
        SessionOut(user=user_view(signed.user), token=signed.token, expires_in=expires_in),
        status_code=status_code,
        cookies=[cookie],
    )
