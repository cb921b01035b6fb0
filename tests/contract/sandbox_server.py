"""The sandbox app served for real (uvicorn on 127.0.0.1), with a receiver for its webhooks.

The contract modules of the provider adapters (Paystack, Brevo, Twilio) talk to it as
to the providers themselves. The ``sandbox_server`` fixture (conftest.py) serves one per
module; ``serve_sandbox`` serves one for a ``with`` block (a second configuration in a
module, or a suite outside tests/contract).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from getiickets.sandbox.app import create_sandbox_app
from getiickets.sandbox.config import SandboxConfig
from getiickets.sandbox.state import SandboxState
from tests.contract.live_server import Receiver, serve


@dataclass(frozen=True)
class SandboxServer:
    url: str
    """The sandbox's root: ``{url}/paystack``, ``{url}/brevo``, ``{url}/twilio``, ``{url}/_control``."""
    state: SandboxState
    receiver: Receiver
    """The merchant's webhook endpoints, at ``{hooks_url}/hooks/<provider>``."""
    hooks_url: str


Server = TypeVar("Server", bound=SandboxServer)


@contextmanager
def serve_sandbox(
    configure: Callable[[str], SandboxConfig], kind: type[Server]
) -> Iterator[Server]:
    """Serve the sandbox configured by ``configure(hooks_url)``, given as ``kind`` (a
    ``SandboxServer`` subclass with a module's own helpers)."""
    receiver = Receiver()
    state = SandboxState()
    with (
        serve(receiver.app()) as hooks_url,
        serve(create_sandbox_app(configure(hooks_url), state)) as url,
    ):
        yield kind(url=url, state=state, receiver=receiver, hooks_url=hooks_url)
