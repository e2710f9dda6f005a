"""Each service's README lists exactly the RPC methods its rpc/server.py serves."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = ["conductor", "scheduler", "compute_agent"]


def served_methods(server: Path) -> set[str]:
    """Names of the methods decorated with ``@endpoint`` in an rpc/server.py."""
    tree = ast.parse(server.read_text())
    return {
        node.name
        for cls in ast.walk(tree) if isinstance(cls, ast.ClassDef)
        for node in cls.body if isinstance(node, ast.FunctionDef)
        and any(isinstance(d, ast.Name) and d.id == "endpoint" for d in node.decorator_list)
    }


def documented_methods(readme: Path) -> set[str]:
    """The backticked names in the first column of the table under "## RPC methods"."""
    text = readme.read_text()
    section = re.search(r"^## RPC methods\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section, f"{readme} has no '## RPC methods' section"
    rows = [line for line in section.group(1).splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`(\w+)", row.split("|")[1])}


@pytest.mark.parametrize("service", SERVICES)
def test_the_readme_lists_every_rpc_method_the_service_serves(service: str) -> None:
    served = served_methods(REPO / service / "rpc" / "server.py")
    documented = documented_methods(REPO / service / "README.md")
    assert served, f"no @endpoint methods found in {service}/rpc/server.py"
    assert sorted(served - documented) == [], "missing from the README's table"
    assert sorted(documented - served) == [], "in the README's table but not served"


def test_every_service_with_an_rpc_server_is_checked() -> None:
    servers = {p.parent.parent.name for p in REPO.glob("*/rpc/server.py")}
    assert servers == set(SERVICES)


def test_docs_link_only_inside_the_repository() -> None:
    docs = [REPO / "README.md", *REPO.glob("docs/*.md"), *REPO.glob("*/README.md")]
    outside = {
        f"{doc.relative_to(REPO)}: {target}"
        for doc in docs
        for target in re.findall(r"\]\(([^)#]+)", doc.read_text())
        if not target.startswith(("http://", "https://"))
        and REPO not in [*(doc.parent / target).resolve().parents, (doc.parent / target).resolve()]
    }
    assert sorted(outside) == []
