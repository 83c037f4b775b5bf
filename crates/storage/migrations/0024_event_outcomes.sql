-- Why an applied event changed nothing, so the event log can say so and the Stores page can
-- count it: the same version was already stored (a redelivery), a newer version was already
-- stored, the record was deleted in Shopify (its
-- tombstone outranks every version), the customer was erased on request, the topic is one
-- Xeno does not use, or the store no longer takes data. NULL: it changed data (or is not
-- applied yet).
ALTER TABLE webhook_events ADD COLUMN outcome text
    CHECK (outcome IN ('duplicate', 'stale', 'deleted', 'redacted', 'ignored', 'store_inactive'));
CREATE INDEX webhook_events_unchanged ON webhook_events (tenant_id, store_id, outcome)
    WHERE outcome IS NOT NULL;
