"""Issued invoices, their lines, credit notes and their lines cannot be changed or deleted by any path: ORM, queryset
update, raw SQL (DESIGN §3: corrections are credit notes). An invoice keeps a few state columns movable (delivery,
payment, credited amount: Invoice.MUTABLE); any other column changing is refused. TRUNCATE stays allowed (test
database flushes; no application path truncates). PostgreSQL only: the SQLite demo has no triggers."""

from django.db import migrations

GUARD = """
CREATE OR REPLACE FUNCTION dms_immutable_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    movable text[] := coalesce(TG_ARGV, '{}'::text[]);
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '% row % is an issued document and cannot be deleted', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (to_jsonb(NEW) - movable) IS DISTINCT FROM (to_jsonb(OLD) - movable) THEN
        RAISE EXCEPTION '% row % is an issued document: only % may change', TG_TABLE_NAME, OLD.id,
            CASE WHEN cardinality(movable) = 0 THEN 'nothing' ELSE array_to_string(movable, ', ') END
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
"""

TABLES = {
    "invoicing_invoice": ("status", "payment_status", "paid_amount", "credited_amount", "updated_at", "version"),
    "invoicing_invoiceline": (),
    "invoicing_creditnote": (),
    "invoicing_creditnoteline": (),
}


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(GUARD, params=None)  # no parameters: the % are plpgsql format markers
    for table, movable in TABLES.items():
        args = ", ".join(f"'{c}'" for c in movable)
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        schema_editor.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                              f"FOR EACH ROW EXECUTE FUNCTION dms_immutable_guard({args})")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS dms_immutable_guard()")


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
