"""Events as stored, read through the cache: what browsing and ordering look at.

Entries use the seed's keys (``event:{id}`` and ``event:slug:{slug}``) for
``DETAIL_TTL``, and every event write drops them (``forget``), so a cached event is as
fresh as the database but for a read that raced a write, and then for ``DETAIL_TTL``
at most. What is cached is the event as stored, drafts included (visibility is for the
caller to check) and without availability (always read live from the inventory).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import msgspec

from getiickets.domain.model.catalog import Event

if TYPE_CHECKING:
    from getiickets.ports.hot_state import Cache
    from getiickets.ports.unit_of_work import UnitOfWorkFactory

DETAIL_TTL = timedelta(seconds=60)

_decoder = msgspec.json.Decoder(Event)


def _by_id(event_id: str) -> str:
    return f"event:{event_id}"


def _by_slug(slug: str) -> str:
    return f"event:slug:{slug}"


class EventCache:
    def __init__(self, *, uow: UnitOfWorkFactory, cache: Cache) -> None:
        self._uow = uow
        self._cache = cache

    async def get(self, event_id: str) -> Event | None:
        """The event with this id (never one whose slug happens to equal it)."""
        cached = await self._cache.get(_by_id(event_id))
        if cached is not None:
            return _decoder.decode(cached)
        async with self._uow() as uow:
            event = await uow.events.get(event_id)
        await self._keep(event)
        return event

    async def get_by_id_or_slug(self, id_or_slug: str) -> Event | None:
        for key in (_by_id(id_or_slug), _by_slug(id_or_slug)):
            cached = await self._cache.get(key)
            if cached is not None:
                return _decoder.decode(cached)
        async with self._uow() as uow:
            event = await uow.events.get(id_or_slug) or await uow.events.get_by_slug(id_or_slug)
        await self._keep(event)
        return event

    async def forget(self, event_id: str, slug: str | None = None) -> None:
        """After a write: drop the event's entries (its slug's too, found if not given)."""
        if slug is None:
            cached = await self._cache.get(_by_id(event_id))
            slug = _decoder.decode(cached).slug if cached is not None else None
        await self._cache.delete(_by_id(event_id), *([_by_slug(slug)] if slug else []))

    async def _keep(self, event: Event | None) -> None:
        if event is not None:
            encoded = msgspec.json.encode(event)
            await self._cache.set(_by_id(event.id), encoded, DETAIL_TTL)
            await self._cache.set(_by_slug(event.slug), encoded, DETAIL_TTL)
