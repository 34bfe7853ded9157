"""The trial registry as stored: trials and their protocol versions, data cuts, looks, reproductions.

Every write is ONE ``writing(engine)`` transaction that first locks the audit chain's head (writers
queue: SQLite's IMMEDIATE transactions, PostgreSQL's row lock on ``audit_head``), then reads what it
checks, appends its audit event and inserts its rows, and, with an ``Idempotency-Key``, the answer to
replay (``service.registry.idempotency``). Either all of it commits or none: a refused or crashed
write leaves no row and no event. Stored rows are never updated but ``trials.current_version``.

The core (``designs.registry``) validates and computes; this module reads, checks what only the
database knows (does the trial exist, is the ETag current, which number comes next) and stores.
Blocking: routes call it through ``run_in_threadpool``.

``GONOGO_TEST_CRASH_AT=look-before-commit`` (tests only) kills this process with SIGKILL inside a
look's write transaction, after its inserts and before the commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from designs.core.errors import FieldProblem, InvalidInputError
from designs.core.provenance import canonical_json, input_hash, software_versions
from designs.registry import datacut, look
from designs.registry.protocol import ProtocolSpec, amend, effective_changes
from service.problems import Conflict, NotFound, PreconditionFailed, PreconditionRequired, StoredContentAltered
from service.registry import audit
from service.registry.idempotency import Idempotency, Reply, record, stored
from service.store.engine import reading, writing
from service.store.tables import data_cuts, design_summaries, looks, protocol_versions, trials

CRASH_AT = "GONOGO_TEST_CRASH_AT"


def crash_point(name: str) -> None:
    """Die at once (SIGKILL: no cleanup, no rollback) when ``GONOGO_TEST_CRASH_AT`` names this point."""
    if os.environ.get(CRASH_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def etag(trial_id: str, version: int, sha256: str) -> str:
    """The ETag of a protocol version (strong, quoted): ``"<trial>-v<version>-<sha256[:16]>"``."""
    return f'"{trial_id}-v{version}-{sha256[:16]}"'


def trial_path(trial_id: str, *rest: Any) -> str:
    return "/".join((f"/v1/trials/{trial_id}", *map(str, rest)))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------------
# The write transaction


def write(engine: Engine, idem: Idempotency | None, action: Callable[[Connection, str], Reply]) -> Reply:
    """Run ``action(conn, at)`` in one write transaction after locking the audit head; store its
    answer under ``idem``'s key in that transaction. A key seen before replays its answer instead."""
    if idem is not None and (previous := stored(engine, idem)) is not None:
        return previous
    try:
        with writing(engine) as conn:
            audit.lock_head(conn)
            if idem is not None and (previous := stored(conn, idem)) is not None:
                return previous  # the same key committed while this request waited for the lock
            at = audit.utc_now()
            reply = action(conn, at)
            if idem is not None:
                record(conn, idem, reply, at)
            return reply
    except IntegrityError:
        # A primary key taken meanwhile: the same Idempotency-Key (replay it) or a look's number.
        if idem is not None and (previous := stored(engine, idem)) is not None:
            return previous
        raise Conflict("another request stored the same resource at the same time; read the current state "
                       "and send the request again") from None


def _event(conn: Connection, at: str, actor: str, action: str, trial_id: str | None, resource: str,
           content_sha256: str) -> None:
    audit.append(conn, actor=actor, action=action, trial_id=trial_id, resource=resource,
                 content_sha256=content_sha256, at=at)


def _intact(conn: Connection, trial_id: str, action: str, resource: str, sha: str, text: str) -> None:
    """409 ``/problems/stored-content-altered`` when a stored content no longer matches its stored
    SHA-256 or its audit event's ``content_sha256``: altered content is never served or computed on."""
    found = audit.check_content(action, resource, sha, text, audit.recorded_sha(conn, trial_id, action, resource))
    if found:
        raise StoredContentAltered(f"{resource} was altered outside gonogo after it was stored: "
                                   + "; ".join(p["problem"] for p in found) + ". It is not served; see "
                                   "GET /v1/audit/verify", resource=resource)


def _version_intact(conn: Connection, row: Any) -> Any:
    trial_id, version = row["trial_id"], row["version"]
    action, resource = (("trial.create", trial_path(trial_id)) if version == 1
                        else ("protocol.amend", trial_path(trial_id, "versions", version)))
    _intact(conn, trial_id, action, resource, row["sha256"], row["document"])
    return row


def _cut_intact(conn: Connection, row: Any) -> Any:
    _intact(conn, row["trial_id"], "data_cut.create", trial_path(row["trial_id"], "data-cuts", row["number"]),
            row["sha256"], row["document"])
    return row


def _look_intact(conn: Connection, row: Any) -> Any:
    _intact(conn, row["trial_id"], "look.create", trial_path(row["trial_id"], "looks", row["number"]),
            row["sha256"], row["result"])
    return row


# ---------------------------------------------------------------------------------------------------
# Trials and protocol versions


def _trial_row(conn: Connection, trial_id: str) -> Any:
    row = conn.execute(select(trials).where(trials.c.id == trial_id)).mappings().first()
    if row is None:
        raise NotFound(f"no trial {trial_id!r}")
    return row


def _version_row(conn: Connection, trial_id: str, version: int) -> Any:
    row = conn.execute(select(protocol_versions).where(protocol_versions.c.trial_id == trial_id,
                                                       protocol_versions.c.version == version)).mappings().first()
    if row is None:
        raise NotFound(f"trial {trial_id!r} has no protocol version {version}")
    return row


def _effective(conn: Connection, row: Any, previous: Any = None) -> dict[str, Any] | None:
    """What amendment ``row`` changed in effect (``protocol.effective_changes`` between the previous
    version's stored document and its own); None for version 1. Derived from the two immutable
    stored documents, so it is the same at every read."""
    if row["version"] <= 1:
        return None
    if previous is None:
        previous = _version_row(conn, row["trial_id"], row["version"] - 1)
    return effective_changes(json.loads(previous["document"]), json.loads(row["document"]))


def _version_view(row: Any, *, document: bool = True, effective: dict[str, Any] | None = None) -> dict[str, Any]:
    view = {"version": row["version"], "sha256": row["sha256"], "etag": etag(row["trial_id"], row["version"], row["sha256"]),
            "changes": None if row["changes"] is None else json.loads(row["changes"]),
            "effective_changes": effective, "reason": row["reason"],
            "after_look": row["after_look"], "created_at": row["created_at"], "created_by": row["created_by"]}
    if document:
        view["protocol"] = json.loads(row["document"])
    return view


def _looks_count(conn: Connection, trial_id: str) -> int:
    return conn.execute(select(func.count()).select_from(looks).where(looks.c.trial_id == trial_id)).scalar_one()


def _trial_view(conn: Connection, trial_id: str) -> tuple[dict[str, Any], str]:
    trial = _trial_row(conn, trial_id)
    rows = conn.execute(select(protocol_versions).where(protocol_versions.c.trial_id == trial_id)
                        .order_by(protocol_versions.c.version)).mappings().all()
    current = _version_intact(conn, rows[-1])
    view = {"id": trial["id"], "title": trial["title"], "current_version": trial["current_version"],
            "etag": etag(trial_id, current["version"], current["sha256"]), "protocol": json.loads(current["document"]),
            "history": [_version_view(r, document=False, effective=_effective(conn, r, rows[i - 1] if i else None))
                        for i, r in enumerate(rows)], "looks": _looks_count(conn, trial_id),
            "created_at": trial["created_at"], "created_by": trial["created_by"]}
    return view, view["etag"]


def create_trial(engine: Engine, spec: ProtocolSpec, *, actor: str, idem: Idempotency | None = None) -> Reply:
    document = canonical_json(spec.document)
    sha = _sha(document)

    def action(conn: Connection, at: str) -> Reply:
        if conn.execute(select(trials.c.id).where(trials.c.id == spec.id)).first() is not None:
            raise Conflict(f"a trial {spec.id!r} exists already: change it with an amendment", field="id")
        _event(conn, at, actor, "trial.create", spec.id, trial_path(spec.id), sha)
        conn.execute(insert(trials).values(id=spec.id, title=spec.title, current_version=1, created_at=at, created_by=actor))
        conn.execute(insert(protocol_versions).values(trial_id=spec.id, version=1, document=document, sha256=sha,
                                                      changes=None, reason=None, after_look=0, created_at=at, created_by=actor))
        view, tag = _trial_view(conn, spec.id)
        return Reply.of(201, view, {"Location": trial_path(spec.id), "ETag": tag})

    return write(engine, idem, action)


def list_trials(engine: Engine, visible: frozenset[str] | None) -> list[dict[str, Any]]:
    """Every trial the caller may see (``visible``: None for every trial)."""
    query = (select(trials, protocol_versions.c.sha256)
             .join(protocol_versions, (protocol_versions.c.trial_id == trials.c.id)
                   & (protocol_versions.c.version == trials.c.current_version))
             .order_by(trials.c.id))
    if visible is not None:
        query = query.where(trials.c.id.in_(sorted(visible)))
    with reading(engine) as conn:
        return [{"id": r["id"], "title": r["title"], "current_version": r["current_version"],
                 "etag": etag(r["id"], r["current_version"], r["sha256"]), "created_at": r["created_at"],
                 "created_by": r["created_by"]} for r in conn.execute(query).mappings()]


def get_trial(engine: Engine, trial_id: str) -> tuple[dict[str, Any], str]:
    with reading(engine) as conn:
        return _trial_view(conn, trial_id)


def get_version(engine: Engine, trial_id: str, version: int) -> dict[str, Any]:
    with reading(engine) as conn:
        _trial_row(conn, trial_id)
        row = _version_intact(conn, _version_row(conn, trial_id, version))
        return _version_view(row, effective=_effective(conn, row))


def _matches(if_match: str, current: str) -> bool:
    """RFC 9110 13.1.1: If-Match compares strongly, so a weak tag (``W/"..."``) never matches; ``*`` is
    not taken either (an amendment must name the version it was written against)."""
    return current in (t.strip() for t in if_match.split(","))


def amend_trial(engine: Engine, trial_id: str, changes: Any, reason: str | None, if_match: str | None, *,
                actor: str, idem: Idempotency | None = None,
                check: Callable[[ProtocolSpec], list[FieldProblem]] = lambda spec: []) -> Reply:
    """A new protocol version: the current one with ``changes`` merged (RFC 7396), validated whole
    (``check``: what the service adds, its limits and compute budget). ``If-Match`` must carry the
    current version's ETag (428 without, 412 stale); after the first look a reason is required."""

    def action(conn: Connection, at: str) -> Reply:
        trial = _trial_row(conn, trial_id)
        current = _version_intact(conn, _version_row(conn, trial_id, trial["current_version"]))
        tag = etag(trial_id, current["version"], current["sha256"])
        if if_match is None:
            raise PreconditionRequired(
                f"an amendment needs the header If-Match with the current protocol version's ETag ({tag}), "
                "so that it cannot overwrite a change it has not seen", field="If-Match", current_etag=tag)
        if not _matches(if_match, tag):
            raise PreconditionFailed(
                f"If-Match {if_match} is not the current protocol version's ETag {tag}: the protocol changed "
                f"since it was read (now version {current['version']}); read it again", field="If-Match",
                current_etag=tag, current_version=current["version"])
        n_looks = _looks_count(conn, trial_id)
        problems: list[FieldProblem] = []
        if n_looks and not (isinstance(reason, str) and reason.strip()):
            problems.append(FieldProblem("reason", f"{n_looks} look(s) have been run: an amendment now needs a "
                                         "reason (it is listed on every later look)"))
        try:
            spec = ProtocolSpec.from_mapping(amend(json.loads(current["document"]), changes))
            found = check(spec)
        except InvalidInputError as error:
            found = error.problems
        problems.extend(p if p.field.startswith("changes") else FieldProblem(f"changes/{p.field}", p.reason)
                        for p in found)
        if problems:
            raise InvalidInputError(problems)
        text = canonical_json(spec.document)
        sha = _sha(text)
        if sha == current["sha256"]:
            raise InvalidInputError("changes", "changes nothing: the protocol would stay as it is")
        version = current["version"] + 1
        _event(conn, at, actor, "protocol.amend", trial_id, trial_path(trial_id, "versions", version), sha)
        conn.execute(insert(protocol_versions).values(
            trial_id=trial_id, version=version, document=text, sha256=sha, changes=canonical_json(changes),
            reason=reason, after_look=n_looks, created_at=at, created_by=actor))
        conn.execute(update(trials).where(trials.c.id == trial_id).values(current_version=version, title=spec.title))
        row = _version_row(conn, trial_id, version)
        view = _version_view(row, effective=_effective(conn, row, current))
        return Reply.of(201, view, {"Location": trial_path(trial_id, "versions", version), "ETag": view["etag"]})

    return write(engine, idem, action)


# ---------------------------------------------------------------------------------------------------
# Data cuts


def _protocol(row: Any) -> ProtocolSpec:
    return ProtocolSpec.from_mapping(json.loads(row["document"]))


def _cut_row(conn: Connection, trial_id: str, number: int) -> Any:
    row = conn.execute(select(data_cuts).where(data_cuts.c.trial_id == trial_id, data_cuts.c.number == number)).mappings().first()
    if row is None:
        raise NotFound(f"trial {trial_id!r} has no data cut {number}")
    return row


def _latest_cut(conn: Connection, trial_id: str) -> Any:
    return conn.execute(select(data_cuts).where(data_cuts.c.trial_id == trial_id)
                        .order_by(data_cuts.c.number.desc()).limit(1)).mappings().first()


def _accrual(document: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Patients per stratum of a cut (an open, sponsor-visible count)."""
    counts: dict[str, dict[str, int]] = {}
    for patient in document["patients"]:
        counts.setdefault(patient["stratum"], {"enrolled": 0})["enrolled"] += 1
    return dict(sorted(counts.items()))


def _cut_view(row: Any, *, patients: bool, sponsor: bool = False) -> dict[str, Any]:
    """A cut as answered; ``sponsor``: metadata and accrual only, without its ``reason`` (a correction's
    reason may describe responses) nor its patients."""
    document = json.loads(row["document"])
    view = {"trial": row["trial_id"], "number": row["number"], "sha256": row["sha256"], "cutoff_date": row["cutoff_date"],
            "n_patients": row["n_patients"], "accrual": _accrual(document), "supersedes": row["supersedes"],
            "reason": row["reason"], "protocol_version": row["protocol_version"], "created_at": row["created_at"],
            "created_by": row["created_by"], "files": json.loads(row["files"]) if row["files"] else [],
            "excluded": document.get("excluded", [])}
    if sponsor:
        del view["reason"], view["excluded"]
    elif patients:
        view["patients"] = document["patients"]
    return view


def create_cut(engine: Engine, trial_id: str, body: Any, *, actor: str, idem: Idempotency | None = None) -> Reply:
    """A new, immutable data cut numbered after the latest, checked against the current protocol and
    the previous cut (``designs.registry.datacut``)."""

    def action(conn: Connection, at: str) -> Reply:
        trial = _trial_row(conn, trial_id)
        protocol = _protocol(_version_intact(conn, _version_row(conn, trial_id, trial["current_version"])))
        latest = _latest_cut(conn, trial_id)
        if latest is not None:
            _cut_intact(conn, latest)
        previous = None if latest is None else datacut.DataCutSpec.from_document(json.loads(latest["document"]))
        spec = datacut.DataCutSpec.from_mapping(body, protocol, previous,
                                                previous_number=None if latest is None else latest["number"])
        number = 1 if latest is None else latest["number"] + 1
        resource = trial_path(trial_id, "data-cuts", number)
        _event(conn, at, actor, "data_cut.create", trial_id, resource, spec.sha256)
        conn.execute(insert(data_cuts).values(
            trial_id=trial_id, number=number, cutoff_date=spec.cutoff_date.isoformat(),
            document=canonical_json(spec.document), sha256=spec.sha256, n_patients=len(spec.patients),
            supersedes=spec.supersedes, reason=spec.reason, protocol_version=trial["current_version"],
            created_at=at, created_by=actor, files=canonical_json(list(spec.files)) if spec.files else None))
        return Reply.of(201, _cut_view(_cut_row(conn, trial_id, number), patients=False), {"Location": resource})

    return write(engine, idem, action)


def list_cuts(engine: Engine, trial_id: str, *, sponsor: bool = False) -> list[dict[str, Any]]:
    """Every cut of a trial without patients (``sponsor``: without reasons either)."""
    with reading(engine) as conn:
        _trial_row(conn, trial_id)
        rows = conn.execute(select(data_cuts).where(data_cuts.c.trial_id == trial_id).order_by(data_cuts.c.number)).mappings()
        return [_cut_view(_cut_intact(conn, r), patients=False, sponsor=sponsor) for r in rows]


def get_cut(engine: Engine, trial_id: str, number: int) -> dict[str, Any]:
    with reading(engine) as conn:
        _trial_row(conn, trial_id)
        return _cut_view(_cut_intact(conn, _cut_row(conn, trial_id, number)), patients=True)


def diff_cuts(engine: Engine, trial_id: str, number: int, against: int) -> dict[str, Any]:
    """What changed from cut ``against`` to cut ``number``: patients added, removed, changed."""
    with reading(engine) as conn:
        _trial_row(conn, trial_id)
        new = _cut_intact(conn, _cut_row(conn, trial_id, number))
        old = conn.execute(select(data_cuts).where(data_cuts.c.trial_id == trial_id,
                                                   data_cuts.c.number == against)).mappings().first()
        if old is None:
            raise InvalidInputError("against", f"trial {trial_id!r} has no data cut {against}")
        _cut_intact(conn, old)
        changes = datacut.diff(json.loads(old["document"]), json.loads(new["document"]))
        return {"trial": trial_id, "from": {"number": against, "sha256": old["sha256"]},
                "to": {"number": number, "sha256": new["sha256"]}, **changes}


# ---------------------------------------------------------------------------------------------------
# Looks


@dataclass(frozen=True)
class LookPlan:
    """What a look computes from (read in one transaction): the arguments of ``run_look``, and what
    its write checks has not changed meanwhile."""

    trial_id: str
    number: int
    protocol_version: int
    protocol: dict[str, Any]
    cut: dict[str, Any]
    seed: int
    context: dict[str, Any]
    design_needed: bool = False  # no design summary is stored for the version yet: compute it with the look

    def arguments(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self.protocol, self.cut), {"look_number": self.number, "seed": self.seed, "context": self.context}


def _amendments_since(conn: Connection, trial_id: str, looks_before: int) -> list[dict[str, Any]]:
    """The amendments made after look ``looks_before`` (none before the first look)."""
    if looks_before == 0:
        return []
    rows = conn.execute(select(protocol_versions).where(protocol_versions.c.trial_id == trial_id,
                                                        protocol_versions.c.after_look == looks_before,
                                                        protocol_versions.c.version > 1)
                        .order_by(protocol_versions.c.version)).mappings()
    return [{"version": r["version"], "reason": r["reason"], "changes": json.loads(r["changes"]),
             "effective_changes": _effective(conn, r), "created_at": r["created_at"], "created_by": r["created_by"]} for r in rows]


def _refuse_superseded(conn: Connection, trial_id: str, number: int) -> None:
    """409 when a later cut names cut ``number`` in ``supersedes``: its data were corrected, and a
    look on them would decide on data known to be wrong."""
    later = conn.execute(select(data_cuts.c.number).where(data_cuts.c.trial_id == trial_id,
                                                          data_cuts.c.supersedes == number)
                         .order_by(data_cuts.c.number).limit(1)).scalar()
    if later is not None:
        raise Conflict(f"data cut {number} of trial {trial_id!r} is superseded by data cut {later} (a correction): "
                       f"run the look on cut {later} or a later one", field="data_cut", data_cut=number,
                       superseded_by=later)


def plan_look(engine: Engine, trial_id: str, cut_number: Any, *, actor: str) -> LookPlan:
    """Read what look number max+1 on data cut ``cut_number`` needs (one read transaction)."""
    with reading(engine) as conn:
        trial = _trial_row(conn, trial_id)
        version = _version_intact(conn, _version_row(conn, trial_id, trial["current_version"]))
        cut = None
        if isinstance(cut_number, int) and not isinstance(cut_number, bool):
            cut = conn.execute(select(data_cuts).where(data_cuts.c.trial_id == trial_id,
                                                       data_cuts.c.number == cut_number)).mappings().first()
        if cut is None:
            numbers = list(conn.scalars(select(data_cuts.c.number).where(data_cuts.c.trial_id == trial_id)
                                        .order_by(data_cuts.c.number)))
            have = f"its cuts are {', '.join(map(str, numbers))}" if numbers else "it has no data cut yet"
            raise InvalidInputError("data_cut", f"trial {trial_id!r} has no data cut {cut_number!r} ({have}); a look "
                                    "runs on a cut of its own trial")
        _cut_intact(conn, cut)
        _refuse_superseded(conn, trial_id, cut["number"])
        n_looks = conn.execute(select(func.coalesce(func.max(looks.c.number), 0)).where(looks.c.trial_id == trial_id)).scalar_one()
        number = n_looks + 1
        protocol = json.loads(version["document"])
        context = {"trial": trial_id, "look": number, "protocol_version": version["version"],
                   "data_cut": {"number": cut["number"], "sha256": cut["sha256"], "cutoff_date": cut["cutoff_date"]},
                   "amendments_since_previous_look": _amendments_since(conn, trial_id, n_looks),
                   "actor": actor, "at": audit.utc_now()}
        return LookPlan(trial_id, number, version["version"], protocol, json.loads(cut["document"]),
                        look.look_seed(protocol.get("seed"), trial_id, number), context,
                        design_needed=_design_row(conn, trial_id, version["version"]) is None)


def store_look(engine: Engine, plan: LookPlan, result: dict[str, Any], *, actor: str,
               idem: Idempotency | None = None, design: dict[str, Any] | None = None) -> Reply:
    """Store look ``plan.number``; 409 when another look or an amendment was stored while it ran.
    ``design``: the protocol version's design summary computed with the look (``plan.design_needed``),
    stored in the same transaction unless one is stored already (it is never recomputed nor replaced)."""
    text = canonical_json(result)
    sha = _sha(text)

    def action(conn: Connection, at: str) -> Reply:
        trial = _trial_row(conn, plan.trial_id)
        latest = conn.execute(select(func.coalesce(func.max(looks.c.number), 0)).where(looks.c.trial_id == plan.trial_id)).scalar_one()
        if latest + 1 != plan.number:
            raise Conflict(f"look {latest} of trial {plan.trial_id!r} was stored while this one ran as look "
                           f"{plan.number}: nothing was stored; send the request again", look=plan.number)
        if trial["current_version"] != plan.protocol_version:
            raise Conflict(f"the protocol was amended (now version {trial['current_version']}) while this look ran "
                           f"on version {plan.protocol_version}: nothing was stored; send the request again")
        _refuse_superseded(conn, plan.trial_id, plan.context["data_cut"]["number"])
        resource = trial_path(plan.trial_id, "looks", plan.number)
        _event(conn, at, actor, "look.create", plan.trial_id, resource, sha)
        conn.execute(insert(looks).values(
            trial_id=plan.trial_id, number=plan.number, data_cut=plan.context["data_cut"]["number"],
            protocol_version=plan.protocol_version, seed=plan.seed, result=text, sha256=sha,
            created_at=plan.context["at"], created_by=actor))  # when it was asked for: its context's time
        if design is not None and _design_row(conn, plan.trial_id, plan.protocol_version) is None:
            _store_design(conn, at, actor, plan, design)
        crash_point("look-before-commit")
        return Reply.of(201, _look_view(conn, plan.trial_id, plan.number), {"Location": resource})

    return write(engine, idem, action)


def _look_row(conn: Connection, trial_id: str, number: int) -> Any:
    row = conn.execute(select(looks).where(looks.c.trial_id == trial_id, looks.c.number == number)).mappings().first()
    if row is None:
        raise NotFound(f"trial {trial_id!r} has no look {number}")
    return row


def _stored_look(row: Any, *, parse: bool = True) -> dict[str, Any]:
    """A stored look as answered (``parse`` False: without its result)."""
    view = {"look": row["number"], "sha256": row["sha256"], "seed": row["seed"], "created_at": row["created_at"],
            "created_by": row["created_by"]}
    if parse:
        view["result"] = json.loads(row["result"])
    return view


def _look_view(conn: Connection, trial_id: str, number: int) -> dict[str, Any]:
    return _stored_look(_look_row(conn, trial_id, number))


def _open_view(row: Any) -> dict[str, Any]:
    return {"look": row["number"], "created_at": row["created_at"], "open": look.open_view(json.loads(row["result"]))}


def list_looks(engine: Engine, trial_id: str, *, closed: bool) -> list[dict[str, Any]]:
    """Every look of a trial: whole (``closed``: statistician, DMC) or its open view (sponsor)."""
    with reading(engine) as conn:
        _trial_row(conn, trial_id)
        rows = conn.execute(select(looks).where(looks.c.trial_id == trial_id).order_by(looks.c.number)).mappings()
        return [_stored_look(r) if closed else _open_view(r) for r in (_look_intact(conn, r) for r in rows)]


def get_look(engine: Engine, trial_id: str, number: int, *, closed: bool) -> dict[str, Any] | str:
    """A look: closed, as the JSON text of ``_stored_look`` with the stored result spliced in as
    stored (checked against its hashes, never parsed and encoded again: reading looks is the
    registry's commonest request); open, its view as a dict."""
    with reading(engine) as conn:
        _trial_row(conn, trial_id)
        row = _look_intact(conn, _look_row(conn, trial_id, number))
    if not closed:
        return _open_view(row)
    head = json.dumps(_stored_look(row, parse=False), separators=(",", ":"))
    return f'{head[:-1]},"result":{row["result"]}}}'



# ---------------------------------------------------------------------------------------------------
# Design summaries: one per protocol version, computed with its first look


def design_path(trial_id: str, version: int) -> str:
    return trial_path(trial_id, "versions", version, "design")


def _design_row(conn: Connection, trial_id: str, version: int) -> Any:
    return conn.execute(select(design_summaries).where(design_summaries.c.trial_id == trial_id,
                                                       design_summaries.c.protocol_version == version)).mappings().first()


def _store_design(conn: Connection, at: str, actor: str, plan: LookPlan, design: dict[str, Any]) -> None:
    """Insert a version's design summary and its ``design.create`` audit event (in the look's transaction)."""
    text = canonical_json(design)
    sha = _sha(text)
    _event(conn, at, actor, "design.create", plan.trial_id, design_path(plan.trial_id, plan.protocol_version), sha)
    conn.execute(insert(design_summaries).values(
        trial_id=plan.trial_id, protocol_version=plan.protocol_version, document=text, sha256=sha,
        computed_at=plan.context["at"], software=canonical_json(software_versions())))


def _design_view(conn: Connection, trial_id: str, version: int) -> dict[str, Any] | None:
    """A version's stored design summary as the report bundle holds it (None: none stored), checked
    against its hashes like every stored content."""
    row = _design_row(conn, trial_id, version)
    if row is None:
        return None
    _intact(conn, trial_id, "design.create", design_path(trial_id, version), row["sha256"], row["document"])
    document = json.loads(row["document"])
    return {"protocol_version": version, "sha256": row["sha256"], "computed_at": row["computed_at"],
            "software": json.loads(row["software"]), "method_note": document["method_note"], "design": document["design"],
            "operating_characteristics": document["operating_characteristics"], "boundaries": document["boundaries"],
            "safety": document.get("safety")}  # None: no safety monitoring, or stored before gonogo calibrated it


def get_design(engine: Engine, trial_id: str, version: int) -> dict[str, Any]:
    """A version's stored design summary; 404 when none is stored (no look on it yet, or no response plan)."""
    with reading(engine) as conn:
        _trial_row(conn, trial_id)
        _version_row(conn, trial_id, version)
        view = _design_view(conn, trial_id, version)
    if view is None:
        raise NotFound(f"protocol version {version} of trial {trial_id!r} has no design summary: it is computed "
                       "when the first look on the version runs, for a version with a response plan or safety monitoring")
    return view


# ---------------------------------------------------------------------------------------------------
# The report bundle of a look


def _open_patient(patient: dict[str, Any]) -> dict[str, Any]:
    return {"id": patient["id"], "stratum": patient["stratum"], "enrolled_on": patient["enrolled_on"]}


def report_bundle(engine: Engine, trial_id: str, number: int, *, closed: bool, actor: str) -> dict[str, Any]:
    """Everything the report of look ``number`` shows, read in one snapshot (the report renders, it does
    not recompute): the look, its protocol version, its data cut, the earlier looks and the version's
    design summary. ``closed`` False (the sponsor's open report): the looks' open views
    (``designs.registry.look.open_view``) with the SHA-256 of those views, the cut's patients reduced
    to id, stratum and enrolment date, without the cut's reason and with only the number of patients it
    left out (``excluded_count``), and no design summary."""
    with reading(engine) as conn:
        trial = _trial_row(conn, trial_id)
        row = _look_intact(conn, _look_row(conn, trial_id, number))
        version = _version_intact(conn, _version_row(conn, trial_id, row["protocol_version"]))
        cut_row = _cut_intact(conn, _cut_row(conn, trial_id, row["data_cut"]))
        earlier = [_look_intact(conn, r) for r in conn.execute(
            select(looks).where(looks.c.trial_id == trial_id, looks.c.number < number).order_by(looks.c.number)).mappings()]
        effective = _effective(conn, version)
        design = _design_view(conn, trial_id, row["protocol_version"]) if closed else None
    shown = look.open_view if not closed else (lambda result: result)
    stored = _stored_look(row)
    stored["result"] = shown(stored["result"])
    protocol_view = _version_view(version, effective=effective)
    del protocol_view["etag"]
    cut = _cut_view(cut_row, patients=closed, sponsor=not closed)
    history = [{"look": r["number"], "sha256": r["sha256"], "created_at": r["created_at"],
                "result": shown(json.loads(r["result"]))} for r in earlier]
    if not closed:
        document = json.loads(cut_row["document"])
        cut["patients"] = [_open_patient(p) for p in document["patients"]]
        cut["excluded_count"] = len(document.get("excluded", []))  # who and why: the closed report's
        # The SHA-256 of what the sponsor reads: a hash of the closed result would let a guess be confirmed.
        for entry in (stored, *history):
            entry["sha256"] = input_hash(entry["result"])
    return {
        "report": "closed" if closed else "open",
        "generated": {"at": audit.utc_now(), "by": actor, "software": software_versions()},
        "trial": {"id": trial_id, "title": trial["title"], "strata": protocol_view["protocol"]["strata"]},
        "look": stored,
        "protocol": protocol_view,
        "cut": cut,
        "history": history,
        "design": design,
    }


def plan_reproduction(engine: Engine, trial_id: str, number: int) -> tuple[LookPlan, dict[str, Any]]:
    """What rerunning look ``number`` needs: its protocol version, cut, seed and context as stored,
    and the stored look."""
    with reading(engine) as conn:
        _trial_row(conn, trial_id)
        row = _look_row(conn, trial_id, number)  # not refused when altered: the comparison shows how
        version = _version_intact(conn, _version_row(conn, trial_id, row["protocol_version"]))
        cut = _cut_intact(conn, _cut_row(conn, trial_id, row["data_cut"]))
        stored_look = json.loads(row["result"])
        context = {"trial": trial_id, "look": number, "protocol_version": row["protocol_version"],
                   "data_cut": {"number": cut["number"], "sha256": cut["sha256"], "cutoff_date": cut["cutoff_date"]},
                   "amendments_since_previous_look": stored_look.get("amendments_since_previous_look", []),
                   "actor": row["created_by"], "at": row["created_at"]}
        plan = LookPlan(trial_id, number, row["protocol_version"], json.loads(version["document"]),
                        json.loads(cut["document"]), row["seed"], context)
        return plan, stored_look


def record_reproduction(engine: Engine, trial_id: str, number: int, comparison: dict[str, Any], *, actor: str,
                        idem: Idempotency | None = None) -> Reply:
    """Audit a reproduction (it stores no look) and answer its comparison."""
    body = {"trial": trial_id, "look": number, **comparison}

    def action(conn: Connection, at: str) -> Reply:
        _look_row(conn, trial_id, number)
        _event(conn, at, actor, "look.reproduce", trial_id, trial_path(trial_id, "looks", number, "reproduce"),
               input_hash(body))
        return Reply.of(200, body)

    return write(engine, idem, action)


# ---------------------------------------------------------------------------------------------------
# Audit trail


def trial_events(engine: Engine, trial_id: str, *, after: int = 0, limit: int = 1000) -> dict[str, Any]:
    with reading(engine) as conn:
        _trial_row(conn, trial_id)
        found = list(audit.events(conn, trial_id, after=after, limit=limit + 1))
    return {"trial": trial_id, "events": found[:limit], "next_after": found[limit - 1]["seq"] if len(found) > limit else None}
