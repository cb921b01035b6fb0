"""Who may read the sandbox's outbox (every ticket email and SMS it accepted) and use
its control routes: anyone on the embedded default, a developer's own machine; on a
server running SANDBOX=true only the holder of SANDBOX_OUTBOX_TOKEN."""

from __future__ import annotations

from tests.e2e.story import Api

PRIVATE = ("/sandbox/outbox", "/sandbox/_control/paystack/received")


def test_the_outbox_is_open_only_on_the_embedded_default(api: Api) -> None:
    anonymous = [api.call("GET", path).status_code for path in PRIVATE]
    reset = api.call("POST", "/sandbox/_control/reset").status_code

    if api.app.backend == "embedded":
        assert anonymous == [200, 200]
    else:
        assert anonymous == [401, 401]
        assert reset == 401
        assert api.call("GET", PRIVATE[0], token="not-the-token").status_code == 401
        token = api.app.settings.sandbox_outbox_token
        assert token is not None
        assert api.call("GET", PRIVATE[0], token=token).status_code == 200
