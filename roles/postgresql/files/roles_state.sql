-- The roles, the database's owner and the objects in Grafana's database that a superuser owns, as one JSON line.
-- psql variables: admin, user, tmp (role names). Read-only.
SELECT json_build_object(
  'session_user', session_user,
  'session_superuser', (SELECT rolsuper FROM pg_roles WHERE rolname = session_user),
  'bootstrap', (SELECT rolname FROM pg_roles WHERE oid = 10),
  'roles', (
    SELECT coalesce(json_object_agg(rolname, json_build_object(
             'bootstrap', oid = 10, 'superuser', rolsuper, 'login', rolcanlogin, 'createdb', rolcreatedb,
             'createrole', rolcreaterole, 'replication', rolreplication, 'bypassrls', rolbypassrls)), '{}'::json)
    FROM pg_roles WHERE rolname IN (:'admin', :'user', :'tmp')),
  'database_owner', (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()),
  'superuser_objects', (
    WITH superusers AS (SELECT oid FROM pg_roles WHERE oid = 10 OR rolname = :'admin'),
         spaces AS (SELECT oid, nspowner FROM pg_namespace
                    WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_(toast|temp_)'),
         members AS (SELECT classid, objid FROM pg_depend WHERE deptype = 'e')
    SELECT (SELECT count(*) FROM spaces WHERE nspowner IN (SELECT oid FROM superusers)
              AND oid NOT IN (SELECT objid FROM members WHERE classid = 'pg_namespace'::regclass))
         + (SELECT count(*) FROM pg_class c WHERE c.relowner IN (SELECT oid FROM superusers)
              AND c.relnamespace IN (SELECT oid FROM spaces)
              AND c.oid NOT IN (SELECT objid FROM members WHERE classid = 'pg_class'::regclass))
         + (SELECT count(*) FROM pg_proc p WHERE p.proowner IN (SELECT oid FROM superusers)
              AND p.pronamespace IN (SELECT oid FROM spaces)
              AND p.oid NOT IN (SELECT objid FROM members WHERE classid = 'pg_proc'::regclass))
         + (SELECT count(*) FROM pg_type t WHERE t.typowner IN (SELECT oid FROM superusers)
              AND t.typnamespace IN (SELECT oid FROM spaces)
              AND t.oid NOT IN (SELECT objid FROM members WHERE classid = 'pg_type'::regclass)))
);
