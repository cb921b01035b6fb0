"""The README's purchase example (``examples/purchase.py``) runs and does what it says.

The README shows that file verbatim, so if an API it uses changes, this test breaks
before a reader's copy does.
"""

from __future__ import annotations

import ast
from pathlib import Path

import examples.purchase
import pytest
from examples.purchase import main, purchase_story

from getiickets.domain.model.inventory import StockLevel

# The claim the example makes: another service needs only these, plus the standard library.
# getiickets.bootstrap is the in-memory wiring: it imports only the domain, the ports and the
# in-memory adapters (import-linter's bare-install contract; test_bare_install runs it).
ALLOWED_IMPORTS = ("getiickets.domain", "getiickets.bootstrap", "asyncio", "datetime")


async def test_the_example_buys_two_tickets_and_gets_in_at_the_door() -> None:
    facts = await purchase_story()

    assert facts["order_status"] == "paid"
    assert facts["total"] == "10000.00 NGN"
    tickets = facts["tickets"]
    assert isinstance(tickets, list)
    assert len(set(tickets)) == 2
    assert all(number.startswith("TK-") for number in tickets)
    assert facts["check_in"] == "ok"
    assert facts["stock"] == StockLevel(capacity=100, held=0, sold=2)


def test_run_as_a_script_it_prints_the_story(capsys: pytest.CaptureFixture[str]) -> None:
    main()

    printed = capsys.readouterr().out
    assert "'order_status': 'paid'" in printed
    assert "'check_in': 'ok'" in printed


def test_the_example_imports_only_the_domain_and_the_in_memory_wiring() -> None:
    source = Path(examples.purchase.__file__).read_text(encoding="utf-8")
    imported = {
        node.module or "" if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    } - {"__future__"}

    def allowed(module: str) -> bool:
        return any(module == name or module.startswith(f"{name}.") for name in ALLOWED_IMPORTS)

    assert "getiickets.bootstrap" in imported
    assert [module for module in sorted(imported) if not allowed(module)] == []


def test_the_readme_shows_the_example_verbatim() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    source = Path(examples.purchase.__file__).read_text(encoding="utf-8")

    assert f"```python\n{source}```" in readme
