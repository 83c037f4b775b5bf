-- A store deleted by hand (Xeno never deletes one: disconnecting keeps the row) takes all its
-- data with it. Deleting its orders runs their rollup triggers, which write the store's
-- summaries again after the cascade has removed them, and the summaries' foreign keys then
-- refused the delete. Those keys are now checked at commit, after a trigger has removed the
-- summaries the cascade left.
ALTER TABLE daily_sales ALTER CONSTRAINT daily_sales_tenant_id_store_id_fkey
    DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE daily_customers ALTER CONSTRAINT daily_customers_tenant_id_store_id_fkey
    DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE buyer_history ALTER CONSTRAINT buyer_history_tenant_id_store_id_fkey
    DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE buyer_spend ALTER CONSTRAINT buyer_spend_tenant_id_store_id_fkey
    DEFERRABLE INITIALLY DEFERRED;

-- A cascade's deletes fire their own triggers only after the store's delete statement has
-- finished, its statement triggers included, so the summaries the rollups write then are
-- removed at commit, by a deferred trigger queued before those rows' foreign-key checks.
CREATE FUNCTION xeno_delete_store_summaries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM daily_sales WHERE tenant_id = OLD.tenant_id AND store_id = OLD.store_id;
    DELETE FROM daily_customers WHERE tenant_id = OLD.tenant_id AND store_id = OLD.store_id;
    DELETE FROM buyer_history WHERE tenant_id = OLD.tenant_id AND store_id = OLD.store_id;
    DELETE FROM buyer_spend WHERE tenant_id = OLD.tenant_id AND store_id = OLD.store_id;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER stores_delete_summaries AFTER DELETE ON stores
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION xeno_delete_store_summaries();
