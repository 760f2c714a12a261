-- Roles for the compose stack: dms_owner owns the schema and runs migrations; dms_app is what the
-- application connects as (no table ownership, NOBYPASSRLS), so row-level security always applies.
CREATE ROLE dms_owner LOGIN CREATEDB PASSWORD 'dms_owner';
CREATE ROLE dms_app LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD 'dms_app';
CREATE DATABASE dms OWNER dms_owner;
