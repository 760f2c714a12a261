"""Output serializers of the reconciliation API (input serializers live with their views, in apis.py). The status
enums are named schema components of their own ("status" is every app's field name)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dms.core.api import choice_field

from . import selectors
from .enums import ExceptionStatus, RunStatus, RunTrigger
from .models import ExceptionEvent, ReconciliationException, ReconciliationRun

RunStatusField = choice_field(RunStatus.choices, "ReconciliationRunStatusEnum", read_only=True)
RunTriggerField = choice_field(RunTrigger.choices, "ReconciliationRunTriggerEnum", read_only=True)
ExceptionStatusField = choice_field(ExceptionStatus.choices, "ReconciliationExceptionStatusEnum", read_only=True)


class RunTotalsOutput(serializers.Serializer):
    found = serializers.IntegerField(help_text="exceptions the run's checks found (all distributors)")
    new = serializers.IntegerField(help_text="of those, found for the first time")
    open = serializers.IntegerField(help_text="of those, still open or assigned")
    cleared = serializers.IntegerField(help_text="exceptions cleared: no longer found")


class CheckCountsOutput(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    done = serializers.BooleanField(help_text="the check has run and committed in this run")
    found = serializers.IntegerField(allow_null=True)
    new = serializers.IntegerField(allow_null=True)
    open = serializers.IntegerField(allow_null=True)
    cleared = serializers.IntegerField(allow_null=True)
    ms = serializers.IntegerField(allow_null=True, help_text="time the check took")
    changed = serializers.DictField(child=serializers.IntegerField(),
                                    help_text='what the check changed before comparing, e.g. {"missed": 12}')


class RunOutput(serializers.ModelSerializer):
    status = RunStatusField()
    trigger = RunTriggerField()
    checks_total = serializers.SerializerMethodField(help_text="checks a complete run runs")
    exceptions = serializers.SerializerMethodField()

    class Meta:
        model = ReconciliationRun
        fields = ["id", "business_date", "status", "trigger", "requested_by", "attempts", "started_at",
                  "finished_at", "duration_ms", "checks_done", "checks_total", "exceptions", "error"]

    def get_checks_total(self, run: ReconciliationRun) -> int:
        return selectors.check_total()

    @extend_schema_field(RunTotalsOutput)
    def get_exceptions(self, run: ReconciliationRun) -> dict[str, int]:
        return selectors.run_totals(run)


class RunDetailOutput(RunOutput):
    """A run with its counts per check, every check listed in run order."""

    checks = serializers.SerializerMethodField()

    class Meta:
        model = ReconciliationRun
        fields = [*RunOutput.Meta.fields, "checks"]

    @extend_schema_field(CheckCountsOutput(many=True))
    def get_checks(self, run: ReconciliationRun) -> list[dict[str, Any]]:
        return [asdict(c) for c in selectors.run_checks(run)]


class RecordOutput(serializers.Serializer):
    """The schema of one record involved (checks may add keys: they are passed on as they are)."""

    type = serializers.CharField(help_text='"order", "invoice", "load_form", ...')
    id = serializers.IntegerField(allow_null=True)
    ref = serializers.CharField(required=False, help_text="the record's number or code, when it has one")


@extend_schema_field(RecordOutput(many=True))
class RecordsField(serializers.JSONField):
    """The records as the check wrote them."""


class ExceptionOutput(serializers.ModelSerializer):
    status = ExceptionStatusField()
    check_title = serializers.SerializerMethodField()
    distributor_code = serializers.CharField(source="distributor.code", read_only=True)
    assigned_to_username = serializers.SerializerMethodField()
    records = RecordsField(read_only=True, help_text="the records involved")
    detail = serializers.DictField(read_only=True, help_text="the figures compared, by name")

    class Meta:
        model = ReconciliationException
        fields = ["id", "distributor", "distributor_code", "check_code", "check_title", "key", "business_date",
                  "first_seen_on", "last_seen_on", "first_run", "last_run", "subject_type", "subject_id", "message",
                  "records", "detail", "status", "assigned_to", "assigned_to_username", "resolved_at",
                  "resolution_note"]

    def get_check_title(self, exc: ReconciliationException) -> str:
        return selectors.check_title(exc.check_code)

    def get_assigned_to_username(self, exc: ReconciliationException) -> str | None:
        return exc.assigned_to.get_username() if exc.assigned_to is not None else None


class ExceptionEventOutput(serializers.ModelSerializer):
    from_status = ExceptionStatusField()
    to_status = ExceptionStatusField()

    class Meta:
        model = ExceptionEvent
        fields = ["created_at", "action", "from_status", "to_status", "actor_kind", "actor_label", "reason",
                  "detail"]


class ExceptionDetailOutput(ExceptionOutput):
    """An exception with who resolved it and its history (assigned, resolved, cleared, re-opened)."""

    events = ExceptionEventOutput(many=True, read_only=True)

    class Meta:
        model = ReconciliationException
        fields = [*ExceptionOutput.Meta.fields, "resolved_by", "events"]
