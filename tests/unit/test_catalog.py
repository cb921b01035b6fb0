"""Stories of organizers putting events on sale, and of anyone browsing them."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

import pytest
from PIL import Image

from getiickets.domain.model.catalog import EventStatus
from getiickets.domain.model.errors import (
    ForbiddenError,
    InvalidStateError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from getiickets.domain.model.media import MAX_IMAGE_BYTES
from getiickets.domain.model.money import Money
from getiickets.domain.usecases.catalog import (
    LIST_VERSION_KEY,
    PUBLISHED_MEMO_TTL,
    CreateEvent,
    NewTicketType,
    UpdateEvent,
)
from getiickets.ports.repositories import EventQuery
from tests.unit.world import Account, World, by_token


def a_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), "orange").save(buffer, format="PNG")
    return buffer.getvalue()


def a_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), "orange").save(buffer, format="JPEG")
    return buffer.getvalue()


async def a_draft(world: World, organizer: Account, title: str = "Lagos Jazz Night") -> str:
    view = await world.catalog.create_event(
        organizer.actor,
        CreateEvent(title=title, starts_at=world.clock.now() + timedelta(days=10), city="Lagos"),
    )
    return view.event.id


async def test_given_an_organizer_when_they_create_an_event_then_it_is_a_draft_they_own(
    world: World,
) -> None:
    organizer = await world.an_organizer()

    view = await world.catalog.create_event(
        organizer.actor,
        CreateEvent(
            title="  Afro Nation 2026! ",
            starts_at=world.clock.now() + timedelta(days=60),
            venue=" Eko Atlantic ",
            city=" Lagos ",
            ticket_types=(NewTicketType(name="VIP", price=Money.parse("25000"), capacity=10),),
        ),
    )

    event = view.event
    assert event.status is EventStatus.DRAFT
    assert event.organizer_id == organizer.actor.user_id
    assert (event.title, event.slug, event.venue, event.city) == (
        "Afro Nation 2026!",
        "afro-nation-2026",
        "Eko Atlantic",
        "Lagos",
    )
    assert event.created_at == world.clock.now()
    [vip] = view.ticket_types
    assert (vip.ticket_type.name, vip.ticket_type.capacity, vip.available) == ("VIP", 10, 10)


async def test_given_a_buyer_when_they_try_to_create_an_event_then_it_is_forbidden(
    world: World,
) -> None:
    buyer = await world.a_buyer()

    with pytest.raises(ForbiddenError):
        await world.catalog.create_event(
            buyer.actor, CreateEvent(title="Mine", starts_at=world.clock.now() + timedelta(days=1))
        )

    assert world.db.events.rows == {}


async def test_given_a_taken_slug_when_another_event_has_the_same_title_then_it_gets_a_suffix(
    world: World,
) -> None:
    organizer = await world.an_organizer()
    first = await world.catalog.get_event(await a_draft(world, organizer), organizer.actor)

    second = await world.catalog.get_event(await a_draft(world, organizer), organizer.actor)

    assert first.event.slug == "lagos-jazz-night"
    assert second.event.slug.startswith("lagos-jazz-night-")
    assert len(second.event.slug) == len("lagos-jazz-night-") + 6
    assert second.event.slug != first.event.slug


async def test_given_an_owner_when_they_update_their_event_then_only_the_given_fields_change(
    world: World,
) -> None:
    organizer = await world.an_organizer()
    event_id = await a_draft(world, organizer)

    view = await world.catalog.update_event(
        organizer.actor, event_id, UpdateEvent(title="Lagos Jazz Night II", venue="Terra Kulture")
    )

    assert (view.event.title, view.event.venue, view.event.city) == (
        "Lagos Jazz Night II",
        "Terra Kulture",
        "Lagos",
    )
    stored = await world.catalog.get_event(event_id, organizer.actor)
    assert stored.event.title == "Lagos Jazz Night II"


async def test_updated_text_is_trimmed_as_on_create_so_filters_still_find_the_event(
    world: World,
) -> None:
    show = await world.a_published_event(city="Lagos")

    view = await world.catalog.update_event(
        show.organizer, show.event_id, UpdateEvent(title="  Jazz Night II ", city=" Abuja ")
    )

    assert (view.event.title, view.event.city) == ("Jazz Night II", "Abuja")
    in_abuja = await world.catalog.list_events(EventQuery(city="abuja"))
    assert [item.event.id for item in in_abuja.items] == [show.event_id]


async def test_given_an_update_that_breaks_a_rule_then_nothing_changes(world: World) -> None:
    organizer = await world.an_organizer()
    event_id = await a_draft(world, organizer)

    with pytest.raises(ValidationError) as raised:
        await world.catalog.update_event(
            organizer.actor, event_id, UpdateEvent(ends_at=world.clock.now())
        )

    assert raised.value.field == "ends_at"
    assert (await world.catalog.get_event(event_id, organizer.actor)).event.ends_at is None


async def test_given_an_event_when_ownership_is_checked_then_only_its_organizer_passes(
    world: World,
) -> None:
    owner = await world.an_organizer()
    rival = await world.an_organizer()
    event_id = await a_draft(world, owner)
    slug = (await world.catalog.get_event(event_id, owner.actor)).event.slug

    await world.catalog.check_owner(owner.actor, event_id)
    with pytest.raises(ForbiddenError):
        await world.catalog.check_owner(rival.actor, event_id)
    # Writes take ids only: a slug names no event to write to.
    for unknown in ("no-such-event", slug):
        with pytest.raises(NotFoundError):
            await world.catalog.check_owner(owner.actor, unknown)


async def test_given_another_organizer_when_they_update_or_publish_the_event_then_it_is_forbidden(
    world: World,
) -> None:
    owner = await world.an_organizer()
    rival = await world.an_organizer()
    event_id = await a_draft(world, owner)

    with pytest.raises(ForbiddenError):
        await world.catalog.update_event(rival.actor, event_id, UpdateEvent(title="Hijacked"))
    with pytest.raises(ForbiddenError):
        await world.catalog.publish_event(rival.actor, event_id)
    with pytest.raises(ForbiddenError):
        await world.catalog.add_ticket_type(
            rival.actor,
            event_id,
            NewTicketType(name="Fake", price=Money.zero(), capacity=1000),
        )

    view = await world.catalog.get_event(event_id, owner.actor)
    assert (view.event.title, view.event.status, view.ticket_types) == (
        "Lagos Jazz Night",
        EventStatus.DRAFT,
        [],
    )


async def test_given_a_draft_without_ticket_types_when_published_then_it_is_refused(
    world: World,
) -> None:
    organizer = await world.an_organizer()
    event_id = await a_draft(world, organizer)

    with pytest.raises(InvalidStateError):
        await world.catalog.publish_event(organizer.actor, event_id)


async def test_given_a_draft_when_a_ticket_type_is_added_then_it_can_be_published(
    world: World,
) -> None:
    organizer = await world.an_organizer()
    event_id = await a_draft(world, organizer)

    added = await world.catalog.add_ticket_type(
        organizer.actor,
        event_id,
        NewTicketType(name=" Early Bird ", price=Money.parse("3500.50"), capacity=30),
    )
    view = await world.catalog.publish_event(organizer.actor, event_id)

    assert added.ticket_type.name == "Early Bird"
    assert added.ticket_type.max_per_order == 10
    assert added.available == 30
    assert view.event.status is EventStatus.PUBLISHED
    assert [tt.ticket_type.id for tt in view.ticket_types] == [added.ticket_type.id]


async def test_a_ticket_type_with_a_name_the_event_already_has_is_refused(world: World) -> None:
    show = await world.a_published_event()

    with pytest.raises(ValidationError):
        await world.catalog.add_ticket_type(
            show.organizer,
            show.event_id,
            NewTicketType(name="Regular", price=Money.zero(), capacity=1),
        )


async def test_given_a_draft_then_only_its_owner_can_see_it(world: World) -> None:
    owner = await world.an_organizer()
    rival = await world.an_organizer()
    event_id = await a_draft(world, owner)

    for someone in (None, rival.actor, (await world.a_buyer()).actor):
        with pytest.raises(NotFoundError):
            await world.catalog.get_event(event_id, someone)
        with pytest.raises(NotFoundError):
            await world.catalog.get_event("lagos-jazz-night", someone)

    assert (await world.catalog.get_event(event_id, owner.actor)).event.id == event_id
    assert (await world.catalog.get_event("lagos-jazz-night", owner.actor)).event.id == event_id


async def test_given_a_published_event_then_anyone_finds_it_by_id_or_slug(world: World) -> None:
    show = await world.a_published_event()

    by_id = await world.catalog.get_event(show.event_id)
    by_slug = await world.catalog.get_event(show.slug)

    assert by_id.event.id == by_slug.event.id == show.event_id
    assert {tt.ticket_type.name: tt.available for tt in by_id.ticket_types} == {
        "Regular": 50,
        "Community": 20,
    }


async def test_an_unknown_event_is_not_found(world: World) -> None:
    with pytest.raises(NotFoundError):
        await world.catalog.get_event("no-such-event")


async def test_list_events_shows_published_events_soonest_first_with_filters_and_pages(
    world: World,
) -> None:
    organizer = await world.an_organizer()
    week = timedelta(days=7)
    later = await world.a_published_event(organizer, title="Later", starts_in=3 * week)
    soon = await world.a_published_event(organizer, title="Soon", starts_in=week)
    middle = await world.a_published_event(
        organizer, title="Abuja Comedy", starts_in=2 * week, city="Abuja", category="comedy"
    )
    await a_draft(world, organizer, title="Hidden draft")

    everything = await world.catalog.list_events(EventQuery())
    assert [view.event.id for view in everything.items] == [
        soon.event_id,
        middle.event_id,
        later.event_id,
    ]
    assert (everything.total, everything.page, everything.limit) == (3, 1, 20)

    in_abuja = await world.catalog.list_events(EventQuery(city="abuja"))
    assert [view.event.id for view in in_abuja.items] == [middle.event_id]
    music = await world.catalog.list_events(EventQuery(category="music"))
    assert [view.event.id for view in music.items] == [soon.event_id, later.event_id]
    on_the_day = await world.catalog.list_events(
        EventQuery(on_date=(world.clock.now() + 3 * week).date())
    )
    assert [view.event.id for view in on_the_day.items] == [later.event_id]

    second_page = await world.catalog.list_events(EventQuery(page=2, limit=2))
    assert [view.event.id for view in second_page.items] == [later.event_id]
    assert (second_page.total, second_page.page, second_page.limit) == (3, 2, 2)


async def test_given_a_real_png_when_set_as_the_image_then_the_event_links_to_it(
    world: World,
) -> None:
    show = await world.a_published_event()
    png = a_png()

    view = await world.catalog.set_image(show.organizer, show.event_id, png, "image/png")

    assert view.event.image_key is not None
    assert view.event.image_key.startswith(f"events/{show.event_id}/image-")
    assert view.event.image_key.endswith(".png")
    assert await world.files.get(view.event.image_key) == png
    assert view.image_url is not None
    assert view.image_url.startswith(f"https://files.test/{view.event.image_key}?expires=")
    assert (await world.catalog.get_event(show.event_id)).event.image_key == view.event.image_key


async def test_a_jpeg_with_parameters_in_its_content_type_is_accepted(world: World) -> None:
    show = await world.a_published_event()

    view = await world.catalog.set_image(
        show.organizer, show.event_id, a_jpeg(), "Image/JPEG; charset=binary"
    )

    assert view.event.image_key is not None
    assert view.event.image_key.endswith(".jpg")


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"<script>alert(1)</script>", "image/png"),  # bytes that are no PNG
        (a_png(), "image/jpeg"),  # a PNG that claims to be a JPEG
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "image/webp"),  # RIFF, but a sound
        (a_png(), "image/gif"),  # a type we do not take
        (a_png(), "application/octet-stream"),
        (a_png(), ""),
    ],
)
async def test_given_a_file_that_is_not_what_it_claims_or_not_allowed_then_it_is_refused(
    world: World, data: bytes, content_type: str
) -> None:
    show = await world.a_published_event()

    with pytest.raises(UnsupportedMediaTypeError):
        await world.catalog.set_image(show.organizer, show.event_id, data, content_type)

    assert (await world.catalog.get_event(show.event_id)).event.image_key is None


async def test_given_an_image_over_5_mib_then_it_is_refused(world: World) -> None:
    show = await world.a_published_event()
    png = a_png()

    just_fits = png + b"\x00" * (MAX_IMAGE_BYTES - len(png))
    await world.catalog.set_image(show.organizer, show.event_id, just_fits, "image/png")
    with pytest.raises(PayloadTooLargeError):
        await world.catalog.set_image(
            show.organizer, show.event_id, just_fits + b"\x00", "image/png"
        )


async def test_given_another_organizer_when_they_set_the_image_then_it_is_forbidden(
    world: World,
) -> None:
    show = await world.a_published_event()
    rival = await world.an_organizer()

    with pytest.raises(ForbiddenError):
        await world.catalog.set_image(rival.actor, show.event_id, a_png(), "image/png")

    assert (await world.catalog.get_event(show.event_id)).event.image_key is None


async def test_given_some_orders_then_the_sales_summary_adds_them_up(world: World) -> None:
    show = await world.a_published_event()
    await world.pay(await world.place_order(show, regular=2))
    await world.place_order(show, regular=3)  # pending: held, not sold
    await world.place_order(show, community=1)  # free: paid at once
    cancelled = await world.place_order(show, regular=4)
    await world.ordering.cancel_order(cancelled.order.id, by_token(cancelled))

    summary = await world.catalog.sales_summary(show.organizer, show.event_id)

    rows = {row.name: row for row in summary.ticket_types}
    regular, community = rows["Regular"], rows["Community"]
    assert (regular.capacity, regular.sold, regular.held, regular.available) == (50, 2, 3, 45)
    assert regular.revenue == Money.parse("10000.00")
    assert (community.capacity, community.sold, community.held, community.available) == (
        20,
        1,
        0,
        19,
    )
    assert community.revenue == Money.zero()
    assert summary.orders == {
        "pending": 1,
        "paid": 2,
        "failed": 0,
        "expired": 0,
        "cancelled": 1,
        "refunded": 0,
    }
    assert summary.revenue == Money.parse("10000.00")


async def test_only_the_owner_sees_the_sales_summary(world: World) -> None:
    show = await world.a_published_event()
    rival = await world.an_organizer()

    with pytest.raises(ForbiddenError):
        await world.catalog.sales_summary(rival.actor, show.event_id)


# ------------------------------------------------------------------------ the read cache


async def test_given_a_cached_event_then_its_availability_is_still_read_live(world: World) -> None:
    show = await world.a_published_event()
    await world.catalog.get_event(show.event_id)  # now cached under event:<id>
    assert await world.cache.get(f"event:{show.event_id}") is not None

    await world.place_order(show, regular=3)

    again = await world.catalog.get_event(show.slug)
    assert {tt.ticket_type.name: tt.available for tt in again.ticket_types}["Regular"] == 47


async def test_given_a_cached_event_when_its_owner_changes_it_then_readers_see_it_at_once(
    world: World,
) -> None:
    show = await world.a_published_event(title="Old title")
    await world.catalog.get_event(show.event_id)
    await world.catalog.get_event(show.slug)

    await world.catalog.update_event(show.organizer, show.event_id, UpdateEvent(title="New"))

    assert (await world.catalog.get_event(show.event_id)).event.title == "New"
    assert (await world.catalog.get_event(show.slug)).event.title == "New"


async def test_given_cached_entries_then_they_lapse_after_the_seed_lifetimes(world: World) -> None:
    show = await world.a_published_event()
    await world.catalog.get_event(show.event_id)
    await world.catalog.list_events(EventQuery())
    version = (await world.cache.get(LIST_VERSION_KEY) or b"0").decode()
    list_keys = [f"events:v{version}::::1:20"]  # no category, city or date; page 1 of 20

    world.clock.advance(timedelta(seconds=60))
    assert await world.cache.get(f"event:{show.event_id}") is None
    assert await world.cache.get(list_keys[0]) is not None
    world.clock.advance(timedelta(seconds=240))
    assert await world.cache.get(list_keys[0]) is None


async def test_given_a_cached_list_when_an_event_is_published_then_the_list_shows_it(
    world: World,
) -> None:
    organizer = await world.an_organizer()
    first = await world.a_published_event(organizer, title="First")
    assert [v.event.id for v in (await world.catalog.list_events(EventQuery())).items] == [
        first.event_id
    ]

    second = await world.a_published_event(organizer, title="Second", starts_in=timedelta(days=1))

    listed = await world.catalog.list_events(EventQuery())
    assert [v.event.id for v in listed.items] == [second.event_id, first.event_id]


# ---------------------------------------------------------------- a queue join's view


def _counting_cache_reads(world: World) -> list[str]:
    reads: list[str] = []
    read = world.cache.get

    async def counted(key: str) -> bytes | None:
        reads.append(key)
        return await read(key)

    world.cache.get = counted  # type: ignore[method-assign]
    return reads


async def test_a_queue_join_reads_a_published_event_once_per_memo_ttl(world: World) -> None:
    show = await world.a_published_event()
    reads = _counting_cache_reads(world)
    first = await world.catalog.published_event(show.event_id)
    read_once = len(reads)
    assert read_once > 0
    for _ in range(3):
        assert (await world.catalog.published_event(show.event_id)).id == first.id
    assert len(reads) == read_once
    world.advance(PUBLISHED_MEMO_TTL.total_seconds())
    await world.catalog.published_event(show.event_id)
    assert len(reads) > read_once


async def test_joins_finding_the_memo_stale_together_share_one_read(world: World) -> None:
    show = await world.a_published_event()
    reads = _counting_cache_reads(world)
    await world.catalog.published_event(show.event_id)
    read = world.cache.get

    async def slow(key: str) -> bytes | None:
        await asyncio.sleep(0)  # a real cache answers later: the others arrive meanwhile
        return await read(key)

    world.cache.get = slow  # type: ignore[method-assign]
    world.advance(PUBLISHED_MEMO_TTL.total_seconds())
    before = len(reads)
    await world.catalog.published_event(show.event_id)
    one_caller = len(reads) - before
    world.advance(PUBLISHED_MEMO_TTL.total_seconds())
    before = len(reads)
    events = await asyncio.gather(*(world.catalog.published_event(show.event_id) for _ in range(5)))
    assert {event.id for event in events} == {show.event_id}
    assert len(reads) - before == one_caller > 0


async def test_a_draft_is_not_remembered_so_its_publication_counts_at_once(world: World) -> None:
    organizer = await world.an_organizer()
    event_id = await a_draft(world, organizer)
    with pytest.raises(NotFoundError):
        await world.catalog.published_event(event_id)
    await world.catalog.add_ticket_type(
        organizer.actor,
        event_id,
        NewTicketType(name="Regular", price=Money.parse("10"), capacity=5),
    )
    await world.catalog.publish_event(organizer.actor, event_id)
    assert (await world.catalog.published_event(event_id)).status is EventStatus.PUBLISHED


async def test_the_process_that_writes_an_event_forgets_its_remembered_copy(world: World) -> None:
    show = await world.a_published_event()
    await world.catalog.published_event(show.event_id)
    await world.catalog.published_event(show.slug)
    await world.catalog.update_event(show.organizer, show.event_id, UpdateEvent(title="Renamed"))
    assert (await world.catalog.published_event(show.event_id)).title == "Renamed"
    assert (await world.catalog.published_event(show.slug)).title == "Renamed"
