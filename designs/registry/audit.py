"""The audit trail's hash chain: each event's hash covers its fields and the previous event's hash,
so that editing, deleting or reordering any stored event breaks the chain from there on.

    hash = SHA-256(canonical JSON of {seq, at, actor, action, trial_id, resource, content_sha256, prev_hash})

The first event's ``prev_hash`` is ``GENESIS`` (64 zeros). ``verify`` walks events in ``seq`` order
and reports every break: a gap or repeat in ``seq`` (a deleted or reordered event), a ``prev_hash``
that is not the previous event's hash, and a hash that does not match the event's fields (an edit).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from designs.core.provenance import canonical_json

GENESIS = "0" * 64
FIELDS = ("seq", "at", "actor", "action", "trial_id", "resource", "content_sha256", "prev_hash")


def event_hash(event: Mapping[str, Any]) -> str:
    """The hash of an event from its ``FIELDS`` (its own ``hash`` excluded)."""
    return hashlib.sha256(canonical_json({k: event[k] for k in FIELDS}).encode("utf-8")).hexdigest()


@dataclass
class Verification:
    """The result of walking a chain: ``ok`` when every event checks, else each break found."""

    events: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "last_seq": self.last_seq, "last_hash": self.last_hash,
                "problems": self.problems}


def verify(events: Iterable[Mapping[str, Any]], *, head: Mapping[str, Any] | None = None) -> Verification:
    """Walk ``events`` (in stored ``seq`` order) and report every break of the chain; with ``head``
    (the stored ``{seq, hash}`` of the last event), also a tail cut off after it."""
    report = Verification()
    expected_seq, prev = 1, GENESIS
    for event in events:
        seq = event["seq"]
        report.events += 1
        if seq != expected_seq:
            what = "missing" if seq > expected_seq else "out of order or repeated"
            report.problems.append({"seq": seq, "problem": f"expected seq {expected_seq}: events {what}"})
        if event["prev_hash"] != prev:
            report.problems.append({"seq": seq, "problem": "prev_hash is not the previous event's hash "
                                    "(an event before it was deleted, edited or reordered)"})
        if event_hash(event) != event["hash"]:
            report.problems.append({"seq": seq, "problem": "hash does not match the event's fields (edited)"})
        expected_seq, prev = seq + 1, event["hash"]
        report.last_seq, report.last_hash = seq, event["hash"]
    if head is not None and (head["seq"] != report.last_seq or head["hash"] != report.last_hash):
        report.problems.append({"seq": head["seq"], "problem": f"the trail ends at seq {report.last_seq} but its head "
                                f"records seq {head['seq']} (events at the end were deleted or edited)"})
    return report
