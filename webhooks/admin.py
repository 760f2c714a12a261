"""The webhooks admin, for manufacturer admins: endpoints (add, change URL/events/active, delete; "Rotate secret"
shows the new secret once in a message, as adding one does; "Send a test event") and deliveries (read-only, with
the attempt log inline and a "Retry" action). Every write goes through webhooks.services; the secret is never on a
page. Querysets come from the scoped managers, so another tenant's rows are a 404.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from dms.core.errors import DomainError
from dms.tenancy.admin_base import RoleInline, TenantAdmin, request_role
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope

from .enums import EventType, subscribable_event_types
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .services import (
    body_of,
    check_endpoint_url,
    delivery_retry,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_update,
)

MANUFACTURER_ADMINS = frozenset({Role.MANUFACTURER_ADMIN})
SECRET_NOTE = "Copy it now: it is not shown again."


def _scope(request: HttpRequest) -> Scope:
    return request.scope  # type: ignore[attr-defined,no-any-return]


def _first_message(error: DomainError) -> str:
    for problems in error.fields.values():
        if problems:
            return str(problems[0])
    return error.message


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=[(t, EventType(t).label) for t in subscribable_event_types()], required=False,
        widget=forms.CheckboxSelectMultiple, help_text="Tick none to receive every event type.")

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        url = data.get("url")
        enabling = bool(self.instance.pk) and not self.instance.active and data.get("active")
        if url and (url != self.instance.url or enabling):  # the service checks the same; here it names the field
            try:
                data["url"] = check_endpoint_url(url)
            except DomainError as exc:
                self.add_error("url", _first_message(exc))
        return data


class AttemptInline(RoleInline):
    """The delivery log, read-only; permissions follow the membership role like TenantAdmin."""

    model = WebhookAttempt
    extra = 0
    ordering = ["number"]
    fields = readonly_fields = ("number", "started_at", "duration_ms", "status_code", "error", "response_excerpt")
    verbose_name_plural = "attempt log"
    view_roles = MANUFACTURER_ADMINS


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantAdmin):
    form = EndpointForm
    view_roles = edit_roles = delete_roles = MANUFACTURER_ADMINS
    list_display = ["url", "description", "events", "active", "consecutive_failures", "disabled_at"]
    list_filter = ["active"]
    search_fields = ["url", "description"]
    readonly_fields = ["consecutive_failures", "disabled_at", "disabled_reason", "created_by", "created_at"]
    actions = ["rotate_secret", "send_test"]

    @admin.display(description="events")
    def events(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.event_types) or "all"

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            endpoint_update(scope=_scope(request), endpoint_id=obj.pk, url=data["url"],
                            description=data["description"], event_types=data["event_types"], active=data["active"])
            return
        created = endpoint_create(scope=_scope(request), url=data["url"], description=data["description"],
                                  event_types=data["event_types"])
        if not data["active"]:
            endpoint_update(scope=_scope(request), endpoint_id=created.pk, active=False)
        obj.pk, obj.tenant_id = created.pk, created.tenant_id
        self.message_user(request, f"Signing secret of {created.url}: {created.secret} — {SECRET_NOTE}",
                          messages.WARNING)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        endpoint_delete(scope=_scope(request), endpoint_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for pk in list(queryset.order_by("pk").values_list("pk", flat=True)):
            endpoint_delete(scope=_scope(request), endpoint_id=pk)

    @admin.action(description="Rotate the signing secret", permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for pk in list(queryset.order_by("pk").values_list("pk", flat=True)):
            endpoint = endpoint_rotate_secret(scope=_scope(request), endpoint_id=pk)
            self.message_user(request, f"New signing secret of {endpoint.url}: {endpoint.secret} — {SECRET_NOTE}",
                              messages.WARNING)

    @admin.action(description="Send a test event", permissions=["change"])
    def send_test(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for endpoint in queryset.order_by("pk"):
            try:
                endpoint_send_test(scope=_scope(request), endpoint_id=endpoint.pk)
                self.message_user(request, f"A test event is on its way to {endpoint.url}.", messages.SUCCESS)
            except DomainError as exc:
                self.message_user(request, f"{endpoint.url}: {exc.message}", messages.ERROR)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantAdmin):
    """Read-only: deliveries change only through the engine and the Retry action."""

    view_roles = MANUFACTURER_ADMINS
    edit_roles = frozenset()
    list_display = ["id", "event_type", "msg_id", "endpoint", "status", "attempts", "next_attempt_at",
                    "last_status_code", "delivered_at", "created_at"]
    list_filter = ["status", "event__event_type"]
    search_fields = ["event__msg_id", "endpoint__url"]
    list_select_related = ["event", "endpoint"]
    fields = readonly_fields = ("endpoint", "event_type", "msg_id", "status", "attempts", "next_attempt_at",
                                "lease_until", "last_status_code", "last_error", "delivered_at", "created_at", "body")
    inlines = [AttemptInline]
    actions = ["retry"]

    @admin.display(description="event type", ordering="event__event_type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.event_type

    @admin.display(description="webhook-id", ordering="event__msg_id")
    def msg_id(self, obj: WebhookDelivery) -> str:
        return obj.event.msg_id

    @admin.display(description="body sent")
    def body(self, obj: WebhookDelivery) -> str:
        return body_of(obj.event)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request_role(request) in MANUFACTURER_ADMINS

    @admin.action(description="Retry the selected failed deliveries", permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        retried = 0
        for pk in list(queryset.order_by("pk").values_list("pk", flat=True)):
            try:
                delivery_retry(scope=_scope(request), delivery_id=pk)
                retried += 1
            except DomainError as exc:
                self.message_user(request, f"Delivery {pk}: {exc.message}", messages.ERROR)
        if retried:
            self.message_user(request, f"{retried} deliver{'ies' if retried != 1 else 'y'} queued again.",
                              messages.SUCCESS)
