"""SecondaryOrder.status_changed_at, backfilled from the order's last status event (else its last change).

The owner is subject to row-level security too (FORCE), so the backfill lifts FORCE for its statement;
dms.tenancy.ddl forces it again after every migrate. PostgreSQL only: the embedded SQLite of `make demo` has no
row-level security, and its database is new (no rows to backfill).
"""

from django.conf import settings
from django.db import migrations, models


BACKFILL = """
ALTER TABLE orders_secondaryorder NO FORCE ROW LEVEL SECURITY;
UPDATE orders_secondaryorder o SET status_changed_at = coalesce(
    (SELECT max(e.created_at) FROM orders_orderevent e WHERE e.order_id = o.id AND e.to_status = o.status),
    o.updated_at);
ALTER TABLE orders_secondaryorder FORCE ROW LEVEL SECURITY;
"""


def backfill(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKFILL)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0002_distributor_composite_key_only'),
        ('orders', '0002_primaryorder_primaryorderevent_primaryorderline_and_more'),
        ('pjp', '0003_route_work_hours_callable_defaults'),
        ('tenancy', '0004_tenantsettings_grn_due_days_and_more'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='secondaryorder',
            name='status_changed_at',
            field=models.DateTimeField(blank=True, help_text='when it entered its status (set by every transition)', null=True),
        ),
        migrations.AddIndex(
            model_name='secondaryorder',
            index=models.Index(fields=['tenant', 'status', 'status_changed_at'], name='order_status_since'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
