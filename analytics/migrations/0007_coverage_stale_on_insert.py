"""The coverage months' markers hold the distributor's active outlets (the coverage KPI's denominator), so adding an
outlet makes them stale too: analytics_coverage_stale now also runs after INSERT on the outlet table (for the
distributors of the active outlets inserted). PostgreSQL only: the SQLite demo builds no facts."""

from django.db import migrations

STALE = """
CREATE OR REPLACE FUNCTION analytics_coverage_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM analytics_coveragemonthfact c USING (
            SELECT o.tenant_id, o.distributor_id FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.active IS DISTINCT FROM n.active OR o.distributor_id IS DISTINCT FROM n.distributor_id
                OR o.tenant_id IS DISTINCT FROM n.tenant_id
            UNION
            SELECT n.tenant_id, n.distributor_id FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.active IS DISTINCT FROM n.active OR o.distributor_id IS DISTINCT FROM n.distributor_id
                OR o.tenant_id IS DISTINCT FROM n.tenant_id
        ) s
        WHERE c.tenant_id = s.tenant_id AND c.distributor_id = s.distributor_id;
    ELSIF TG_OP = 'INSERT' THEN
        DELETE FROM analytics_coveragemonthfact c
        USING (SELECT DISTINCT tenant_id, distributor_id FROM new_rows WHERE active) s
        WHERE c.tenant_id = s.tenant_id AND c.distributor_id = s.distributor_id;
    ELSE
        DELETE FROM analytics_coveragemonthfact c
        USING (SELECT DISTINCT tenant_id, distributor_id FROM old_rows) s
        WHERE c.tenant_id = s.tenant_id AND c.distributor_id = s.distributor_id;
    END IF;
    RETURN NULL;
END $$;
"""
INSERT_TRIGGER = "analytics_coverage_stale_insert"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(STALE, params=None)
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {INSERT_TRIGGER} ON catalog_outlet")
    schema_editor.execute(f"CREATE TRIGGER {INSERT_TRIGGER} AFTER INSERT ON catalog_outlet REFERENCING NEW TABLE AS "
                          "new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_coverage_stale()")
    # markers built before hold no outlet count: drop the months (TRUNCATE: row-level security would hide every
    # row from a DELETE without a tenant); the nightly refresh rebuilds them
    schema_editor.execute("TRUNCATE analytics_coveragemonthfact")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {INSERT_TRIGGER} ON catalog_outlet")


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0006_distributoractivitydayfact'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
