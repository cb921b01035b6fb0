"""/checkin: organizers scan tickets at the door."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, SkipValidation

from getiickets.domain.model.accounts import Actor
from getiickets.domain.usecases.checkin import CheckIn
from getiickets.entrypoints.http.dependencies import requires_organizer
from getiickets.entrypoints.http.errors import documented
from getiickets.entrypoints.http.routes.orders import ticket_out
from getiickets.entrypoints.http.schemas import CheckInBody, CheckInOut
from getiickets.ports.files import FileStorage


class CheckInController(Controller):
    path = "/checkin"
    tags = ["checkin"]  # noqa: RUF012 - Litestar reads it as a class attribute

    # The event is named in the body: the role is checked first, ownership after.
    @post(
        "/",
        operation_id="checkIn",
        status_code=200,
        responses=documented(400, 401, 403, 404, 422),
        guards=[requires_organizer],
    )
    async def check_in(
        self,
        data: JSONBody[CheckInBody],
        user: NamedDependency[Actor],
        checkin: NamedDependency[CheckIn],
        files: NamedDependency[SkipValidation[FileStorage]],
    ) -> CheckInOut:
        result = await checkin.check_in(user, data.event_id, data.qr_payload)
        return CheckInOut(
            result=result.outcome.value,  # type: ignore[arg-type]
            ticket=await ticket_out(files, result.ticket),
            checked_in_at=result.ticket.checked_in_at,
        )
