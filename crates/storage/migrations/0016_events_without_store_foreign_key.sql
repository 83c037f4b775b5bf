-- Webhook acceptance without a foreign-key check per event.
--
-- Each accepted event was checked against its store: an index lookup and a share lock on the
-- store's row, per event, about a tenth of the database's time accepting webhooks. The
-- acceptor only writes store ids it has just read from `stores`, and Xeno never deletes a
-- store (disconnecting keeps the row), so the check guarded only the cascade of a store
-- deleted by hand; a statement trigger keeps that cascade.
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_tenant_id_store_id_fkey;

CREATE FUNCTION xeno_delete_store_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM webhook_events e USING deleted_stores d
    WHERE e.tenant_id = d.tenant_id AND e.store_id = d.store_id;
    RETURN NULL;
END $$;

CREATE TRIGGER stores_delete_events AFTER DELETE ON stores
    REFERENCING OLD TABLE AS deleted_stores
    FOR EACH STATEMENT EXECUTE FUNCTION xeno_delete_store_events();
