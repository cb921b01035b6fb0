"""Headless Chromium for the browser tests: Debian's ``chromium``, driven by Playwright
(whose own browser download is never used). Without it a test skips on a laptop and
fails under CI, like the other tests that need something outside Python."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import service_missing

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--font-render-hinting=none",  # the same glyph shapes on every machine
]
PAGE_TIMEOUT_MS = 15_000
PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1280, "height": 800}


@contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A Chromium context with a fresh profile."""
    if not CHROMIUM.exists():
        service_missing("Chromium", f"{CHROMIUM} not found; apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415
    except ImportError as error:
        service_missing("Playwright", f"{error}; pip install -c constraints.txt -e '.[dev]'")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


def overflow(page: Any, box: str = "main") -> dict[str, list[int]]:
    """Elements wider than their box, as ``{name: [scrollWidth, clientWidth]}``: the page,
    the body, ``box`` and the selects, tables and details inside it."""
    measured: dict[str, list[int]] = page.evaluate(
        """(box) => {
            const boxes = {body: document.body, page: document.documentElement,
                           card: document.querySelector(box)};
            const inner = document.querySelectorAll(
                `${box} select, ${box} dd, ${box} table`);
            for (const [i, el] of inner.entries()) boxes[el.tagName.toLowerCase() + i] = el;
            const out = {};
            for (const [name, el] of Object.entries(boxes))
                if (el.scrollWidth > el.clientWidth) out[name] = [el.scrollWidth, el.clientWidth];
            const card = document.querySelector(box).getBoundingClientRect();
            if (card.right > window.innerWidth || card.left < 0)
                out.card_outside_window = [Math.round(card.right), window.innerWidth];
            return out;
        }""",
        box,
    )
    return measured
