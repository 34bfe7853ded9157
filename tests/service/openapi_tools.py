"""OpenAPI helpers shared by the schemathesis tests (test_fuzz.py, test_schemathesis.py)."""

from __future__ import annotations

from typing import Any


def without_prefix_items(node: Any) -> Any:
    """The document with each tuple (``prefixItems``, OpenAPI 3.1) as an array of its one item type.

    schemathesis rewrites ``prefixItems`` into the draft-4 ``items: [...]`` before validating a
    response against draft 2020-12, which then refuses the schema itself (schemathesis issue 3842).
    Every tuple here repeats one type (``ci95``: two numbers), so ``items`` says the same."""
    if isinstance(node, list):
        return [without_prefix_items(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: without_prefix_items(value) for key, value in node.items()}
    prefix = node.pop("prefixItems", None)
    if prefix is not None:
        assert all(item == prefix[0] for item in prefix), prefix
        node["items"] = prefix[0]
    return node
