-- What remains of a deleted tenant: that it was deleted, when, and how much went with it.
-- Not tenant data (no `tenant_id`, no row-level security): the tenant is gone.
CREATE TABLE tenant_deletions (
    former_tenant_id uuid PRIMARY KEY,
    deleted_at       timestamptz NOT NULL DEFAULT now(),
    stores           integer NOT NULL,
    members          integer NOT NULL
);

-- Deletes every row of a tenant, in every table that has a `tenant_id` (read from the
-- catalog, so a new table is covered without a change here). It runs as the schema's owner
-- (row-level security does not bind it) with no tenant set, so the version triggers do not
-- write for the tenant being deleted. Deleting records fires their rollups, which may write
-- rows already deleted, hence a second pass; the tenant row goes last.
CREATE FUNCTION xeno_delete_tenant(doomed uuid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $$
DECLARE
    t text;
    pass int;
BEGIN
    PERFORM set_config('app.tenant_id', '', true);
    FOR pass IN 1..2 LOOP
        FOR t IN
            SELECT c.table_name FROM information_schema.columns c
            JOIN information_schema.tables r
                ON r.table_schema = c.table_schema AND r.table_name = c.table_name
            WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id'
                AND r.table_type = 'BASE TABLE' AND c.table_name <> 'tenants'
            ORDER BY c.table_name
        LOOP
            EXECUTE format('DELETE FROM %I WHERE tenant_id = $1', t) USING doomed;
        END LOOP;
    END LOOP;
    DELETE FROM tenants WHERE tenant_id = doomed;
END $$;
