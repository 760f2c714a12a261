from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"

    def ready(self) -> None:
        # The booking credit check (orders, below us) counts what an outlet owes on its invoices.
        from orders import selectors

        from .selectors import outlet_receivable

        selectors.set_receivable_source(outlet_receivable)

        # "Invoice selected orders" on the orders admin: orders may not import invoicing, so invoicing attaches it.
        from orders.admin import SecondaryOrderAdmin

        from .admin_actions import attach

        attach(SecondaryOrderAdmin)
