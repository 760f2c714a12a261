"""/api/v1/invoicing/: invoices (and their PDFs), batch invoicing, credit notes, payments, outlet balances."""

from django.urls import path

from . import apis

urlpatterns = [
    path("invoices/", apis.InvoiceListApi.as_view(), name="invoice-list"),
    path("invoices/batch/", apis.InvoiceBatchApi.as_view(), name="invoice-batch"),
    path("invoices/<int:invoice_id>/", apis.InvoiceDetailApi.as_view(), name="invoice-detail"),
    path("invoices/<int:invoice_id>/pdf/", apis.InvoicePdfApi.as_view(), name="invoice-pdf"),
    path("credit-notes/", apis.CreditNoteListApi.as_view(), name="credit-note-list"),
    path("credit-notes/<int:credit_note_id>/", apis.CreditNoteDetailApi.as_view(), name="credit-note-detail"),
    path("credit-notes/<int:credit_note_id>/pdf/", apis.CreditNotePdfApi.as_view(), name="credit-note-pdf"),
    path("payments/", apis.PaymentListApi.as_view(), name="payment-list"),
    path("payments/<int:payment_id>/", apis.PaymentDetailApi.as_view(), name="payment-detail"),
    path("outlets/<int:outlet_id>/balance/", apis.OutletBalanceApi.as_view(), name="outlet-balance"),
]
