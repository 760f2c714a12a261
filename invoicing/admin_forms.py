"""Forms of the invoicing admin pages: batch invoicing, a credit note on an invoice, a payment, an outlet's
balance. They only collect input; every write is one service call made by invoicing.admin."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django import forms

from dms.core.errors import DomainError
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import distributor_list

from .enums import CreditReason, PaymentMethod
from .models import InvoiceLine
from .services.credit_notes import REASON_TEXT_MAX

RESTOCK_CHOICES = [("", "No goods back"), ("saleable", "Goods back into stock (saleable)"),
                   ("damaged", "Goods back, damaged: written off")]


def place_errors(form: forms.Form, error: DomainError, aliases: dict[str, str] | None = None) -> None:
    """A service's field errors on the form's fields (by name or alias), the rest above the form."""
    placed = False
    for name, problems in (error.fields or {}).items():
        target = (aliases or {}).get(name, name)
        for problem in problems if isinstance(problems, list) else [problems]:
            form.add_error(target if target in form.fields else None, str(problem))
            placed = True
    if not placed:
        form.add_error(None, error.message)


class BatchForm(forms.Form):
    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                           help_text="invoice the allocated orders booked on this day; blank: every allocated order")

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if scope.single_distributor_id is None:
            self.fields["distributor"] = forms.TypedChoiceField(
                coerce=int, choices=[(d.pk, str(d)) for d in distributor_list(scope=scope)])


class CreditNoteForm(forms.Form):
    """Units to credit per invoice line (`qty_<line id>`, at most what is left of it), the reason and the stock."""

    reason = forms.ChoiceField(choices=CreditReason.choices)
    restock = forms.ChoiceField(choices=RESTOCK_CHOICES, required=False)
    reason_text = forms.CharField(required=False, max_length=REASON_TEXT_MAX, label="Note",
                                  widget=forms.TextInput(attrs={"size": 60}))

    def __init__(self, *args: Any, lines: Sequence[InvoiceLine], credited: dict[int, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows: list[dict[str, Any]] = []
        for line in lines:
            left = line.qty_units - credited.get(line.pk, 0)
            name = f"qty_{line.pk}"
            self.fields[name] = forms.IntegerField(min_value=0, max_value=left, initial=0, required=False,
                                                   label=f"line {line.line_no}",
                                                   widget=forms.NumberInput(attrs={"style": "width: 6em"}))
            self.rows.append({"line": line, "credited": credited.get(line.pk, 0), "left": left, "field": self[name]})

    def credit_lines(self) -> list[tuple[int, int]]:
        return [(row["line"].pk, self.cleaned_data.get(f"qty_{row['line'].pk}") or 0) for row in self.rows
                if self.cleaned_data.get(f"qty_{row['line'].pk}")]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not self.credit_lines():
            raise forms.ValidationError("Enter the units to credit on at least one line.")
        return data

    def error_aliases(self) -> dict[str, str]:
        """The service's `lines[i].qty_units` -> the i-th credited row's field."""
        return {f"lines[{i}].qty_units": f"qty_{line_id}" for i, (line_id, _qty) in enumerate(self.credit_lines())}


class PaymentForm(forms.Form):
    """A payment from an outlet, named by its code. The idempotency key is made when the page is shown and sent
    back with the form, so a second click (or a resent POST) records nothing new."""

    outlet_code = forms.CharField(max_length=40, label="Outlet code")
    amount = forms.DecimalField(max_digits=16, decimal_places=2, min_value=0)
    method = forms.ChoiceField(choices=PaymentMethod.choices)
    received_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    reference = forms.CharField(max_length=60, required=False, help_text="cheque number, transfer reference")
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)


class BalanceForm(forms.Form):
    outlet_code = forms.CharField(max_length=40, label="Outlet code")
    on_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                              help_text="age the invoices to this day (blank: today)")
