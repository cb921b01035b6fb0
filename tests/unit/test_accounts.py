"""Stories of signing up, signing in and out, and sessions that end on time."""

from __future__ import annotations

import pytest

from getiickets.domain.model.accounts import Role
from getiickets.domain.model.errors import (
    EmailTakenError,
    InvalidCredentialsError,
    UnauthenticatedError,
    ValidationError,
)
from getiickets.domain.usecases.accounts import LogIn, Register
from tests.unit.world import PASSWORD, World


@pytest.mark.parametrize("role", Role, ids=str)
async def test_given_a_new_user_when_they_register_then_their_token_authenticates_with_their_role(
    world: World, role: Role
) -> None:
    signed_in = await world.accounts.register(
        Register(
            email="  Ada@Example.com ",
            password=PASSWORD,
            name=" Ada ",
            phone="0801 234 5678",
            role=role,
        )
    )

    actor = await world.accounts.authenticate(signed_in.token)
    assert actor.user_id == signed_in.user.id
    assert actor.role is role
    me = await world.accounts.me(actor)
    assert (me.email, me.name, me.phone, me.role) == (
        "ada@example.com",
        "Ada",
        "+2348012345678",
        role,
    )


async def test_a_new_account_is_a_buyer_unless_it_asks_otherwise(world: World) -> None:
    signed_in = await world.accounts.register(
        Register(email="ada@example.com", password=PASSWORD, name="Ada")
    )

    assert (await world.accounts.authenticate(signed_in.token)).role is Role.BUYER


async def test_the_password_is_stored_only_as_a_hash(world: World) -> None:
    signed_in = await world.accounts.register(
        Register(email="ada@example.com", password=PASSWORD, name="Ada")
    )

    assert PASSWORD not in signed_in.user.password_hash
    assert await world.hasher.verify(signed_in.user.password_hash, PASSWORD)


@pytest.mark.parametrize("again", ["ada@example.com", "ADA@EXAMPLE.COM", " Ada@example.Com "])
async def test_given_a_registered_email_when_someone_registers_it_again_in_any_case_then_it_is_taken(
    world: World, again: str
) -> None:
    await world.accounts.register(Register(email="ada@example.com", password=PASSWORD, name="Ada"))

    with pytest.raises(EmailTakenError):
        await world.accounts.register(Register(email=again, password=PASSWORD, name="Impostor"))


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (Register(email="ada", password=PASSWORD, name="Ada"), "email"),
        (Register(email="ada@example.com", password="short", name="Ada"), "password"),
        (Register(email="ada@example.com", password=PASSWORD, name="  "), "name"),
        (Register(email="ada@example.com", password=PASSWORD, name="Ada", phone="12"), "phone"),
    ],
)
async def test_given_broken_details_when_registering_then_nothing_is_stored(
    world: World, command: Register, field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        await world.accounts.register(command)

    assert raised.value.field == field
    assert world.db.users.rows == {}


async def test_given_an_account_when_logging_in_with_its_password_then_a_new_session_starts(
    world: World,
) -> None:
    account = await world.a_buyer(email="ada@example.com")

    signed_in = await world.accounts.log_in(LogIn(email=" ADA@example.com", password=PASSWORD))

    assert signed_in.token != account.token
    assert (await world.accounts.authenticate(signed_in.token)) == account.actor
    # Logging in elsewhere does not end the first session.
    assert (await world.accounts.authenticate(account.token)) == account.actor


async def test_given_an_account_when_logging_in_with_a_wrong_password_then_it_is_refused(
    world: World,
) -> None:
    await world.a_buyer(email="ada@example.com")

    with pytest.raises(InvalidCredentialsError):
        await world.accounts.log_in(LogIn(email="ada@example.com", password=PASSWORD + "!"))


async def test_given_no_such_account_when_logging_in_then_it_looks_like_a_wrong_password(
    world: World,
) -> None:
    await world.a_buyer(email="ada@example.com")

    with pytest.raises(InvalidCredentialsError) as raised:
        await world.accounts.log_in(LogIn(email="nobody@example.com", password=PASSWORD))

    assert "nobody" not in str(raised.value)


async def test_given_a_session_when_logging_out_then_the_token_stops_working_at_once(
    world: World,
) -> None:
    account = await world.a_buyer()

    await world.accounts.log_out(account.token)

    with pytest.raises(UnauthenticatedError):
        await world.accounts.authenticate(account.token)


async def test_given_an_unknown_token_then_no_one_is_authenticated(world: World) -> None:
    await world.a_buyer()

    with pytest.raises(UnauthenticatedError):
        await world.accounts.authenticate("made-up-token")


@pytest.mark.parametrize(("role", "ttl"), [(Role.ORGANIZER, 7200), (Role.BUYER, 28800)], ids=str)
async def test_given_a_session_when_its_ttl_passes_then_it_no_longer_authenticates(
    world: World, role: Role, ttl: int
) -> None:
    account = await world.register(role=role)

    world.advance(ttl - 1)
    assert (await world.accounts.authenticate(account.token)) == account.actor

    world.advance(1)
    with pytest.raises(UnauthenticatedError):
        await world.accounts.authenticate(account.token)
