-- Webhook acceptance without a foreign-key check per event, and a store deleted by hand
-- taking everything of it along. Xeno never deletes a store (disconnecting keeps the row).
--
-- Each accepted event was checked against its store: an index lookup and a share lock on the
-- store's row, per event, about a tenth of the database's time accepting webhooks. The
-- acceptor only writes store ids it has just read from `stores`, so the check guarded only
-- the cascade of a store deleted by hand.
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_tenant_id_store_id_fkey;

-- Deleting a store's orders runs their rollup triggers, which write the store's summaries
-- again after the cascade has removed them, and the summaries' foreign keys refused that
-- (a store with orders could not be deleted). Those keys are checked at commit instead.
ALTER TABLE daily_sales ALTER CONSTRAINT daily_sales_tenant_id_store_id_fkey
    DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE daily_customers ALTER CONSTRAINT daily_customers_tenant_id_store_id_fkey
    DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE buyer_history ALTER CONSTRAINT buyer_history_tenant_id_store_id_fkey
    DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE buyer_spend ALTER CONSTRAINT buyer_spend_tenant_id_store_id_fkey
    DEFERRABLE INITIALLY DEFERRED;

-- What the keys no longer remove, a deferred trigger does, at commit: a cascade's deletes fire
-- their own triggers only after the store's delete statement has finished, so the summaries
-- the rollups write back exist by then, and this trigger, queued first, runs before their
-- foreign-key checks.
CREATE FUNCTION xeno_delete_store_leftovers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM webhook_events WHERE tenant_id = OLD.tenant_id AND store_id = OLD.store_id;
    DELETE FROM daily_sales WHERE tenant_id = OLD.tenant_id AND store_id = OLD.store_id;
    DELETE FROM daily_customers WHERE tenant_id = OLD.tenant_id AND store_id = OLD.store_id;
    DELETE FROM buyer_history WHERE tenant_id = OLD.tenant_id AND store_id = OLD.store_id;
    DELETE FROM buyer_spend WHERE tenant_id = OLD.tenant_id AND store_id = OLD.store_id;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER stores_delete_leftovers AFTER DELETE ON stores
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION xeno_delete_store_leftovers();
