"""``LocalFileStorage`` beyond the shared contract: it owns a directory on disk and
serves links the app checks itself, so it must never leave that directory, never show
half a file, and refuse links that are expired or not its own."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from getiickets.adapters.localfs import LocalFileStorage
from getiickets.adapters.memory import InMemoryClock
from getiickets.domain.model.errors import NotFoundError

pytestmark = pytest.mark.contract

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BASE_URL = "https://tickets.example.com/files"
SIGNING_KEY = b"localfs-test-signing-key"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 512
PDF = b"%PDF-1.4\n" + b"\x02" * 512


@pytest.fixture
def clock() -> InMemoryClock:
    return InMemoryClock(START)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "storage" / "files"


@pytest.fixture
def storage(root: Path, clock: InMemoryClock) -> LocalFileStorage:
    return LocalFileStorage(root, SIGNING_KEY, BASE_URL, clock)


def _files_under(directory: Path) -> set[str]:
    return {str(path.relative_to(directory)) for path in directory.rglob("*") if path.is_file()}


# ------------------------------------------------------------------- confinement

TRAVERSALS = [
    "../escape.png",
    "../../escape.png",
    "../../../escape.png",
    "tickets/../../escape.png",
    "tickets/../../../escape.png",
    "/tmp/escape.png",  # noqa: S108 - an absolute key is the attack
    "tickets\\..\\..\\escape.png",
    "..\\..\\escape.png",
    "tickets//escape.png",
    "tickets/./escape.png",
    "tickets/escape.png\x00.txt",
    "",
    "/",
    "..",
]


@pytest.mark.parametrize("key", TRAVERSALS)
async def test_a_key_cannot_write_outside_the_root(
    storage: LocalFileStorage, tmp_path: Path, key: str
) -> None:
    before = _files_under(tmp_path)

    with pytest.raises(ValueError, match="invalid file key"):
        await storage.put(key, PNG, "image/png")

    assert _files_under(tmp_path) == before


@pytest.mark.parametrize("key", TRAVERSALS)
async def test_a_key_cannot_read_outside_the_root(
    storage: LocalFileStorage, root: Path, tmp_path: Path, key: str
) -> None:
    # Real files at every place the traversals could reach, the storage's own trees
    # included, so only the key check stands between the caller and the bytes.
    await storage.put("tickets/real.png", PNG, "image/png")
    for directory in (tmp_path, root.parent, root, root / "objects", root / "objects" / "tickets"):
        (directory / "escape.png").write_bytes(b"\x89PNG\r\n\x1a\nsecret")

    with pytest.raises(NotFoundError):
        await storage.get(key)
    with pytest.raises(NotFoundError):
        await storage.open_for_serving(key)
    assert not await storage.exists(key)


async def test_a_symlink_inside_the_root_does_not_lead_out(
    storage: LocalFileStorage, root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"\x89PNG\r\n\x1a\nsecret")
    (root / "objects").mkdir(parents=True)
    (root / "objects" / "tickets").symlink_to(outside, target_is_directory=True)

    with pytest.raises(NotFoundError):
        await storage.open_for_serving("tickets/secret.png")
    with pytest.raises(ValueError, match="outside the storage"):
        await storage.put("tickets/planted.png", PNG, "image/png")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.png"]


async def test_a_key_that_runs_through_another_file_is_not_found(
    storage: LocalFileStorage,
) -> None:
    await storage.put("tickets/ord-1", PDF, "application/pdf")

    with pytest.raises(NotFoundError):
        await storage.get("tickets/ord-1/TK-1.pdf")
    with pytest.raises(NotFoundError):
        await storage.get("tickets")  # a directory is not a file


async def test_content_type_records_never_pose_as_files(storage: LocalFileStorage) -> None:
    """The type record of ``a.pdf`` lives in another tree, so no key reaches it."""
    await storage.put("tickets/a.pdf", PDF, "application/pdf")

    assert not await storage.exists("tickets/a.pdf.json")
    with pytest.raises(NotFoundError):
        await storage.get("tickets/a.pdf.json")


# ------------------------------------------------------------------- atomic writes


async def test_a_write_that_fails_midway_leaves_the_old_file_and_no_debris(
    storage: LocalFileStorage, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "tickets/ord-1/TK-1.pdf"
    await storage.put(key, PDF, "application/pdf")
    files_before = _files_under(root)

    real_fsync = os.fsync

    def disk_full_on_the_pdf(descriptor: int) -> None:
        # Fails the file's bytes, after they were written and before any rename; the
        # small type record written first goes through.
        if os.pread(descriptor, 5, 0) == b"%PDF-":
            raise OSError(28, "No space left on device")
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", disk_full_on_the_pdf)
    with pytest.raises(OSError, match="No space left"):
        await storage.put(key, PDF + b"a newer, longer render", "application/pdf")
    monkeypatch.undo()

    assert await storage.open_for_serving(key) == (PDF, "application/pdf")
    assert _files_under(root) == files_before


async def test_the_new_file_appears_whole_in_one_rename(
    storage: LocalFileStorage, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the instant of the rename, the key still holds the whole old file and the
    temporary file already holds the whole new one: readers never see anything else."""
    key = "tickets/ord-1/TK-1.pdf"
    target = root / "objects" / "tickets" / "ord-1" / "TK-1.pdf"
    await storage.put(key, PDF, "application/pdf")
    new = PDF + b"second render"
    seen: list[tuple[bytes, bytes, int]] = []
    real_replace = os.replace

    def watching_replace(source: str | Path, destination: str | Path) -> None:
        if Path(destination) == target:
            seen.append((Path(source).read_bytes(), target.read_bytes(), threading.get_ident()))
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", watching_replace)
    await storage.put(key, new, "application/pdf")
    monkeypatch.undo()

    ((source_bytes, target_bytes, thread),) = seen
    assert (source_bytes, target_bytes) == (new, PDF)
    assert thread != threading.get_ident()  # file I/O runs off the event loop thread
    assert target.read_bytes() == new
    assert not [name for name in _files_under(root) if ".tmp-" in name]


async def test_files_survive_a_restart_with_their_types(root: Path, clock: InMemoryClock) -> None:
    first = LocalFileStorage(root, SIGNING_KEY, BASE_URL, clock)
    await first.put("tickets/ord-1/TK-1-qr.png", PNG, "image/png")
    await first.put("events/ev-1/image-x", PDF, "Application/PDF")

    second = LocalFileStorage(root, SIGNING_KEY, BASE_URL, clock)

    assert await second.open_for_serving("tickets/ord-1/TK-1-qr.png") == (PNG, "image/png")
    assert await second.open_for_serving("events/ev-1/image-x") == (PDF, "application/pdf")


async def test_a_relative_root_stays_put_when_the_directory_changes(
    tmp_path: Path, clock: InMemoryClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    storage = LocalFileStorage(Path("data/files"), SIGNING_KEY, BASE_URL, clock)
    await storage.put("tickets/a.png", PNG, "image/png")
    (tmp_path / "elsewhere").mkdir()

    monkeypatch.chdir(tmp_path / "elsewhere")

    assert await storage.get("tickets/a.png") == PNG


# ------------------------------------------------------------------- signed links


def _link(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query, strict_parsing=True)
    key = unquote(parts.path.removeprefix(urlsplit(BASE_URL).path + "/"))
    return key, int(query["expires"][0]), query["signature"][0]


async def test_a_link_has_the_shape_the_file_route_serves(storage: LocalFileStorage) -> None:
    url = await storage.signed_url("events/ev 1/image.png", timedelta(minutes=5))

    assert url.startswith(f"{BASE_URL}/events/ev%201/image.png?expires=")
    key, expires, signature = _link(url)
    assert key == "events/ev 1/image.png"
    assert expires == int((START + timedelta(minutes=5)).timestamp())
    assert storage.check_signature(key, expires, signature)


async def test_a_link_works_until_it_expires_and_not_after(
    storage: LocalFileStorage, clock: InMemoryClock
) -> None:
    key, expires, signature = _link(
        await storage.signed_url("tickets/ord-1/TK-1.pdf", timedelta(minutes=10))
    )

    clock.advance(timedelta(minutes=10) - timedelta(seconds=1))
    assert storage.check_signature(key, expires, signature)
    clock.advance(timedelta(seconds=1))
    assert not storage.check_signature(key, expires, signature)
    clock.advance(timedelta(days=1))
    assert not storage.check_signature(key, expires, signature)


def _flip_last(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


TAMPERINGS: list[tuple[str, Callable[[str, int, str], tuple[str, int, str]]]] = [
    ("other-key", lambda k, e, s: ("tickets/ord-2/TK-9.pdf", e, s)),
    ("key-prefix", lambda k, e, s: (k.removesuffix(".pdf"), e, s)),
    ("later-expiry", lambda k, e, s: (k, e + 3600, s)),
    ("earlier-expiry", lambda k, e, s: (k, e - 1, s)),
    ("signature-changed", lambda k, e, s: (k, e, _flip_last(s))),
    ("signature-truncated", lambda k, e, s: (k, e, s[:-2])),
    ("signature-upper-case", lambda k, e, s: (k, e, s.upper())),
    ("signature-empty", lambda k, e, s: (k, e, "")),
    ("signature-not-ascii", lambda k, e, s: (k, e, s[:-1] + "é")),
]


@pytest.mark.parametrize("tamper", [pytest.param(change, id=name) for name, change in TAMPERINGS])
async def test_a_tampered_link_is_refused(
    storage: LocalFileStorage, tamper: Callable[[str, int, str], tuple[str, int, str]]
) -> None:
    genuine = _link(await storage.signed_url("tickets/ord-1/TK-1.pdf", timedelta(hours=1)))
    assert storage.check_signature(*genuine)

    assert not storage.check_signature(*tamper(*genuine))


async def test_a_link_signed_with_another_key_is_refused(
    root: Path, clock: InMemoryClock, storage: LocalFileStorage
) -> None:
    impostor = LocalFileStorage(root, b"some-other-signing-key", BASE_URL, clock)

    forged = _link(await impostor.signed_url("tickets/ord-1/TK-1.pdf", timedelta(hours=1)))

    assert not storage.check_signature(*forged)


async def test_a_link_to_a_traversing_key_cannot_be_made(storage: LocalFileStorage) -> None:
    with pytest.raises(ValueError, match="invalid file key"):
        await storage.signed_url("../../etc/passwd", timedelta(minutes=5))
