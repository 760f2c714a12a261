"""Deciding on a proposal: accept (apply it, if the routes have not changed since) or discard.

Proposal states: ready -> accepted | discarded | stale; stale -> discarded. Accepting or discarding twice
is a no-op. The decision records who and when (decided_by, decided_at).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from dms.core.errors import DomainError, InvalidTransition
from dms.tenancy.enums import ActorKind
from dms.tenancy.scope import Scope

from ..enums import ProposalKind, ProposalStatus
from ..errors import PjpError
from ..locks import lock_distributor_plans
from ..models import OptimisationProposal, Route
from ..selectors import proposal_get
from ..services import pjp_publish, route_create, route_set_stops
from ..services.common import tenant_policy
from .build import unique_code
from .common import next_monday

STALE_MESSAGE = "the route changed since this proposal was made; optimise again"

TRANSITIONS = {
    ProposalStatus.READY: {ProposalStatus.ACCEPTED, ProposalStatus.DISCARDED, ProposalStatus.STALE},
    ProposalStatus.STALE: {ProposalStatus.DISCARDED},
}


def _lock_proposal(scope: Scope, proposal_id: int) -> OptimisationProposal:
    """The planning lock of the proposal's distributor, then the proposal row. Route versions only change
    under the planning lock, so they cannot move between the staleness check and applying the plan."""
    distributor_id = proposal_get(scope=scope, proposal_id=proposal_id).distributor_id
    lock_distributor_plans(scope, distributor_id)
    return scope.filter(OptimisationProposal.objects.select_for_update(no_key=True, of=("self",))).get(
        pk=proposal_id)


def _move(proposal: OptimisationProposal, scope: Scope, to: ProposalStatus, *, decided: bool = True) -> None:
    if to not in TRANSITIONS.get(ProposalStatus(proposal.status), set()):
        raise InvalidTransition("Proposal", proposal.status, to)
    proposal.status = to
    fields = ["status", "plan", "updated_at"]
    if decided:
        proposal.decided_by_id = scope.actor.id if scope.actor.kind == ActorKind.USER else None
        proposal.decided_at = timezone.now()
        fields += ["decided_by", "decided_at"]
    proposal.save(update_fields=fields)


def _changed_routes(scope: Scope, proposal: OptimisationProposal) -> list[str]:
    """A sentence per route whose version is not the one the proposal was made on."""
    ids = [int(key) for key in proposal.route_versions]
    now = {pk: (code, version) for pk, code, version in scope.filter(Route.objects.filter(pk__in=ids))
           .values_list("pk", "code", "version")}
    changed = []
    for key, version in sorted(proposal.route_versions.items()):
        if int(key) not in now:
            changed.append(f"Route {key} was deleted.")
        elif now[int(key)][1] != version:
            code, current = now[int(key)]
            changed.append(f"Route {code} is at version {current}; the proposal was made on version {version}.")
    return changed


def proposal_accept(*, scope: Scope, proposal_id: int) -> OptimisationProposal:
    """Ready -> accepted: apply the plan, if every route is still at the version the proposal was made on.

    Otherwise ready -> stale, and a 409 (STALE_VERSION). The stale mark is written in its own savepoint
    before the error is raised, so a caller that handles the error keeps it; the API, which rolls the
    whole request back on a 4xx, writes it again afterwards (proposal_mark_stale). Idempotent: accepting
    an accepted proposal returns it unchanged. Takes the planning lock, then the proposal.
    """
    proposal, changed = _accept(scope, proposal_id)
    if changed:
        raise DomainError(PjpError.STALE_VERSION, STALE_MESSAGE, fields={"route_versions": changed},
                          status_code=409, extra={"proposal_id": proposal.pk, "status": proposal.status})
    return proposal


@transaction.atomic
def _accept(scope: Scope, proposal_id: int) -> tuple[OptimisationProposal, list[str]]:
    proposal = _lock_proposal(scope, proposal_id)
    if proposal.status == ProposalStatus.ACCEPTED:
        return proposal, []
    if proposal.status == ProposalStatus.DISCARDED:
        raise InvalidTransition("Proposal", proposal.status, ProposalStatus.ACCEPTED)
    changed = _changed_routes(scope, proposal)
    if changed or proposal.status == ProposalStatus.STALE:
        if proposal.status == ProposalStatus.READY:
            _move(proposal, scope, ProposalStatus.STALE, decided=False)
        return proposal, changed or ["The proposal is stale."]
    if proposal.kind == ProposalKind.SEQUENCE:
        applied = _apply_sequence(scope, proposal)
    else:
        applied = _apply_build(scope, proposal)
    proposal.plan = {**proposal.plan, "applied": applied}
    _move(proposal, scope, ProposalStatus.ACCEPTED)
    return proposal, []


def _apply_sequence(scope: Scope, proposal: OptimisationProposal) -> dict[str, Any]:
    versions = {}
    for key, outlet_ids in proposal.plan["routes"].items():
        route = route_set_stops(scope=scope, route_id=int(key), outlet_ids=[int(o) for o in outlet_ids],
                                expected_version=proposal.route_versions[key])
        versions[key] = route.version
    return {"versions": versions}


def _apply_build(scope: Scope, proposal: OptimisationProposal) -> dict[str, Any]:
    """Create the routes and publish one plan per booker from next Monday (tenant-local).

    The bookers' plans are first cleared from that Monday (an empty version each, replaced by the real one
    below in the same transaction): otherwise publishing booker A's plan would be checked against booker B's
    old plan, which may still visit the outlets that now go to A, and be refused as an overlap.
    """
    plan = proposal.plan
    distributor_id = proposal.distributor_id
    cycle_weeks = int(plan["cycle_weeks"])
    starts = next_monday(tenant_policy(scope).today())
    bookers = [int(b) for b in plan["booker_ids"]]
    for booker_id in bookers:
        pjp_publish(scope=scope, distributor_id=distributor_id, booker_id=booker_id, cycle_weeks=cycle_weeks,
                    cycle_anchor=starts, effective_from=starts, slots=[],
                    note=f"cleared for the routes of proposal {proposal.pk}")
    taken = set(scope.filter(Route.objects.filter(distributor_id=distributor_id)).values_list("code", flat=True))
    routes: dict[str, int] = {}
    slots: dict[int, list[tuple[int, int, int]]] = {b: [] for b in bookers}
    for entry in plan["new_routes"]:
        code = unique_code(entry["code"], taken)
        route = route_create(scope=scope, distributor_id=distributor_id, code=code, name=entry["name"][:120])
        weeks = [int(w) for w in entry["weeks"]]
        every = len(weeks) == cycle_weeks
        route_set_stops(scope=scope, route_id=route.pk, outlet_ids=entry["outlet_ids"],
                        weeks=None if every else dict.fromkeys(entry["outlet_ids"], weeks))
        routes[entry["key"]] = route.pk
        slots[int(entry["booker_id"])] += [(w, int(entry["weekday"]), route.pk) for w in weeks]
    pjps = {}
    for booker_id in bookers:
        pjp = pjp_publish(scope=scope, distributor_id=distributor_id, booker_id=booker_id, cycle_weeks=cycle_weeks,
                          cycle_anchor=starts, effective_from=starts, slots=slots[booker_id],
                          note=f"routes built by proposal {proposal.pk}")
        pjps[str(booker_id)] = pjp.pk
    return {"routes": routes, "pjps": pjps, "effective_from": starts.isoformat()}


@transaction.atomic
def proposal_discard(*, scope: Scope, proposal_id: int) -> OptimisationProposal:
    """Ready or stale -> discarded; nothing is applied. Idempotent: discarding a discarded proposal is a
    no-op; an accepted one cannot be discarded (409). Takes the planning lock, then the proposal."""
    proposal = _lock_proposal(scope, proposal_id)
    if proposal.status != ProposalStatus.DISCARDED:
        _move(proposal, scope, ProposalStatus.DISCARDED)
    return proposal


@transaction.atomic
def proposal_mark_stale(*, scope: Scope, proposal_id: int) -> OptimisationProposal:
    """Ready -> stale when a route changed since the proposal was made; otherwise nothing. Idempotent.
    Takes the planning lock, then the proposal."""
    proposal = _lock_proposal(scope, proposal_id)
    if proposal.status == ProposalStatus.READY and _changed_routes(scope, proposal):
        _move(proposal, scope, ProposalStatus.STALE, decided=False)
    return proposal
