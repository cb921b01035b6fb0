"""The waiting room: organizer settings, joining and polling, and the page people wait on."""

from __future__ import annotations

import html
import json
from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from getiickets.domain.model.accounts import Actor
from getiickets.domain.model.errors import NotFoundError
from getiickets.domain.model.local_time import readable_time
from getiickets.domain.model.waiting_room import MAX_POLL_SECONDS, MIN_POLL_SECONDS
from getiickets.domain.usecases.catalog import Catalog
from getiickets.domain.usecases.waiting_room import ChangeQueue, WaitingRoom
from getiickets.entrypoints.http.dependencies import requires_event_owner
from getiickets.entrypoints.http.errors import documented
from getiickets.entrypoints.http.schemas import (
    JoinQueueBody,
    QueueOverviewOut,
    QueueSettingsBody,
    QueueSettingsOut,
    QueueStatusOut,
    queue_overview_view,
    queue_settings_view,
    queue_status_view,
)


class EventQueueController(Controller):
    path = "/events/{event_id:str}/queue"
    tags = ["waiting room"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @put(
        "/",
        operation_id="setEventQueue",
        responses=documented(400, 401, 403, 404, 422),
        guards=[requires_event_owner],
    )
    async def configure(
        self,
        event_id: FromPath[str],
        data: JSONBody[QueueSettingsBody],
        user: NamedDependency[Actor],
        waiting_room: NamedDependency[WaitingRoom],
    ) -> QueueSettingsOut:
        change = ChangeQueue(
            enabled=data.enabled,
            admit_per_minute=data.admit_per_minute,
            session_minutes=data.session_minutes,
            max_active=data.max_active,
            opens_at=data.opens_at,
            max_per_admission=data.max_per_admission,
        )
        overview = await waiting_room.configure(user, event_id, change)
        return queue_settings_view(overview.settings)

    @get(
        "/",
        operation_id="getEventQueue",
        responses=documented(401, 403, 404, 503),
        guards=[requires_event_owner],
    )
    async def overview(
        self,
        event_id: FromPath[str],
        user: NamedDependency[Actor],
        waiting_room: NamedDependency[WaitingRoom],
    ) -> QueueOverviewOut:
        return queue_overview_view(await waiting_room.overview(user, event_id))

    # Plain JSON joins are answered before Litestar's routing (http/fast_join.py),
    # exactly as here; this handler takes the rest and is the reference for the tests.
    @post(
        "/",
        operation_id="joinEventQueue",
        status_code=201,
        responses=documented(400, 404, 422, 429, 503),
    )
    async def join(
        self,
        request: Request[Any, Any, Any],
        event_id: FromPath[str],
        data: JSONBody[JoinQueueBody],
        catalog: NamedDependency[Catalog],
        waiting_room: NamedDependency[WaitingRoom],
    ) -> QueueStatusOut:
        event = await catalog.published_event(event_id)
        client = request.client.host if request.client else "unknown"
        return queue_status_view(await waiting_room.join(event, data.email, client))


class QueueController(Controller):
    path = "/queue"
    tags = ["waiting room"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/{queue_token:str}", operation_id="getQueuePlace", responses=documented(404, 503))
    async def place(
        self, queue_token: FromPath[str], waiting_room: NamedDependency[WaitingRoom]
    ) -> QueueStatusOut:
        return queue_status_view(await waiting_room.status(queue_token))


@get(
    "/queue/{slug:str}",
    operation_id="queuePage",
    tags=["waiting room"],
    include_in_schema=False,
    media_type="text/html",
)
async def queue_page(slug: FromPath[str], catalog: NamedDependency[Catalog]) -> Response[str]:
    """The page a buyer waits on: join, watch the place move, then buy."""
    try:
        view = await catalog.get_event(slug)
    except NotFoundError:
        return Response(_PAGE_NOT_FOUND, status_code=404, media_type="text/html")
    event = view.event
    config = {
        "eventId": event.id,
        "api": "/api/v1",
        "minPoll": MIN_POLL_SECONDS,
        "maxPoll": MAX_POLL_SECONDS,
        "ticketTypes": [{"id": t.id, "name": t.name} for t in event.ticket_types],
    }
    # Inside <script>, "</" could end the element early: escape it in the JSON.
    data = json.dumps(config).replace("</", "<\\/")
    page = (
        _PAGE.replace("{{title}}", html.escape(event.title))
        .replace("{{when}}", html.escape(readable_time(event.starts_at, event.timezone)))
        .replace("{{venue}}", html.escape(", ".join(p for p in (event.venue, event.city) if p)))
        .replace("{{config}}", data)
    )
    return Response(
        page,
        media_type="text/html",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


_PAGE_NOT_FOUND = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Not found</title>"
    "</head><body><main><h1>No such event</h1></main></body></html>"
)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Waiting room: {{title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}
.big{font-size:2.5rem;font-weight:700}[hidden]{display:none}
</style></head>
<body><main>
<h1>{{title}}</h1>
<p id="when">{{when}}<br>{{venue}}</p>
<noscript><p>This waiting room needs JavaScript to keep your place.</p></noscript>
<form id="join"><label>Email <input id="email" type="email" required></label>
<button type="submit">Join the queue</button></form>
<section id="waiting" hidden aria-live="polite">
<p>Your place in line</p><p class="big" id="position"></p>
<p>Estimated wait: <span id="wait"></span></p>
<p>Keep this page open; it refreshes itself.</p></section>
<section id="admitted" hidden>
<p><strong>It is your turn.</strong> Your admission is valid until <span id="until"></span>.</p>
<p><a id="buy" href="#checkout">Buy tickets now</a></p>
<form id="checkout" hidden>
<label>Ticket <select id="ticket-type"></select></label>
<label>Quantity <input id="quantity" type="number" min="1" value="1"></label>
<label>Name <input id="name" required></label>
<button type="submit">Place order</button></form></section>
<p id="message" role="status"></p>
</main>
<script>
(function () {
  var config = {{config}};
  var key = "queue:" + config.eventId;
  var $ = function (id) { return document.getElementById(id); };
  var status = null;
  function say(text) { $("message").textContent = text; }
  function minutes(seconds) {
    if (seconds < 60) return seconds + " s";
    return Math.round(seconds / 60) + " min";
  }
  function show(answer) {
    status = answer;
    localStorage.setItem(key, answer.queue_token);
    $("join").hidden = true;
    if (answer.status === "admitted") {
      $("waiting").hidden = true;
      $("admitted").hidden = false;
      $("until").textContent = new Date(answer.admission_expires_at).toLocaleTimeString();
      return;
    }
    $("waiting").hidden = false;
    $("position").textContent = answer.position;
    $("wait").textContent = minutes(answer.estimated_wait_seconds);
    var next = Math.max(config.minPoll,
      Math.min(config.maxPoll, Math.floor(answer.estimated_wait_seconds / 10)));
    setTimeout(poll, next * 1000);
  }
  function poll() {
    var token = localStorage.getItem(key);
    if (!token) return;
    fetch(config.api + "/queue/" + encodeURIComponent(token)).then(function (r) {
      if (r.ok) return r.json().then(show);
      if (r.status === 404) { localStorage.removeItem(key); $("join").hidden = false; return; }
      say("The queue is busy; trying again.");
      setTimeout(poll, config.maxPoll * 1000);
    }, function () { setTimeout(poll, config.maxPoll * 1000); });
  }
  $("join").addEventListener("submit", function (e) {
    e.preventDefault();
    $("email").dataset.used = $("email").value;
    fetch(config.api + "/events/" + config.eventId + "/queue", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({email: $("email").value})
    }).then(function (r) {
      return r.json().then(function (body) {
        if (r.ok) { localStorage.setItem(key + ":email", $("email").value); show(body); }
        else say(body.detail || "Could not join.");
      });
    });
  });
  config.ticketTypes.forEach(function (t) {
    var option = document.createElement("option");
    option.value = t.id; option.textContent = t.name; $("ticket-type").appendChild(option);
  });
  $("buy").addEventListener("click", function () { $("checkout").hidden = false; });
  $("checkout").addEventListener("submit", function (e) {
    e.preventDefault();
    var order = {event_id: config.eventId,
      items: [{ticket_type_id: $("ticket-type").value, quantity: +$("quantity").value}],
      buyer: {email: localStorage.getItem(key + ":email") || "", name: $("name").value}};
    fetch(config.api + "/orders", {method: "POST",
      headers: {"Content-Type": "application/json", "X-Admission-Token": status.admission_token},
      body: JSON.stringify(order)
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { say(body.detail || "The order failed."); return; }
        if (body.status === "paid") { say("Order " + body.order_number + " confirmed."); return; }
        say("Order " + body.order_number + " placed; opening the payment page.");
        return fetch(config.api + "/payments/initialize", {method: "POST",
          headers: {"Content-Type": "application/json", "X-Order-Token": body.access_token},
          body: JSON.stringify({order_id: body.id})
        }).then(function (p) { return p.json(); }).then(function (pay) {
          if (pay.authorization_url) location.href = pay.authorization_url;
        });
      });
    });
  });
  poll();
})();
</script></body></html>
"""
