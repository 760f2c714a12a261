#!/usr/bin/env bash
# Create the database roles and the database dms needs on a PostgreSQL reachable at $PGHOST:$PGPORT
# as a superuser ($PGSUPERUSER, default postgres). Idempotent.
#   dms_owner: owns the schema, runs migrations, creates the test database.
#   dms_app:   what the application connects as: owns nothing, NOBYPASSRLS, DML only.
set -euo pipefail
PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
SUPER=${PGSUPERUSER:-postgres}
DB=${DMS_DB_NAME:-dms}
psql_super() { psql -v ON_ERROR_STOP=1 -q -h "$PGHOST" -p "$PGPORT" -U "$SUPER" "$@"; }
psql_super -d postgres <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dms_owner') THEN
    CREATE ROLE dms_owner LOGIN CREATEDB NOSUPERUSER PASSWORD 'dms_owner';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dms_app') THEN
    CREATE ROLE dms_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD 'dms_app';
  END IF;
END
\$\$;
ALTER ROLE dms_app NOSUPERUSER NOBYPASSRLS;
SQL
if ! psql_super -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  psql_super -d postgres -c "CREATE DATABASE $DB OWNER dms_owner"
fi
