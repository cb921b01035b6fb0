"""The waiting room's gauge shows each event's line as last seen."""

from __future__ import annotations

from getiickets.entrypoints.metrics import Metrics
from getiickets.ports.waiting_room import Step


def test_the_waiting_gauge_holds_each_event_s_last_count() -> None:
    metrics = Metrics()

    for event_id, waiting in (("a", 3), ("b", 7), ("a", 4), ("a", None), ("b", 1)):
        metrics.observe_queue(event_id, Step(), waiting)

    shown = {
        event_id: metrics.registry.get_sample_value(
            "getiickets_queue_waiting", {"event_id": event_id}
        )
        for event_id in ("a", "b")
    }
    assert shown == {"a": 4, "b": 1}
