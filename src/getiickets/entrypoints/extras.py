"""Which packages of an extra are not installed, read from getiickets' own metadata.

``pip install getiickets`` is the domain library (msgspec and tzdata only); running the
app needs ``getiickets[server]``. The ``getiickets`` command checks first and names what
is missing, instead of failing on the first import deep inside a command. Reading the
installed metadata keeps pyproject.toml the one list.
"""

from __future__ import annotations

import importlib.metadata
import re

DISTRIBUTION = "getiickets"
# A requirement as installed metadata spells it: "sqlalchemy[asyncio]>=2.0; extra == 'server'".
_REQUIREMENT = re.compile(
    r"\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[(?P<extras>[^\]]*)\])?[^;]*(?:;(?P<marker>.*))?"
)
_EXTRA = re.compile(r"""extra\s*==\s*['"](?P<extra>[^'"]+)['"]""")


def missing_packages(extra: str) -> list[str]:
    """Distributions ``getiickets[extra]`` asks for that are not installed, sorted.

    Empty when getiickets itself is not installed (run from a source tree): there is
    no metadata to read, and whoever does that manages their packages by hand.
    """
    try:
        requirements = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    missing: set[str] = set()
    wanted, seen = [extra], set[str]()
    while wanted:
        current = wanted.pop()
        if current in seen:
            continue
        seen.add(current)
        for line in requirements:
            requirement = _REQUIREMENT.match(line)
            marker = _EXTRA.search((requirement and requirement["marker"]) or "")
            if requirement is None or marker is None or marker["extra"] != current:
                continue
            name = requirement["name"]
            if name == DISTRIBUTION:  # an extra made of other extras: getiickets[sqlite,...]
                wanted.extend(e.strip() for e in (requirement["extras"] or "").split(","))
            elif not _installed(name):
                missing.add(name)
    return sorted(missing)


def _installed(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True
