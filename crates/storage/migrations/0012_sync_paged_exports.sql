-- Exports a sync read page by page because Shopify would not run a bulk export for it.
ALTER TABLE sync_runs ADD COLUMN paged_exports integer NOT NULL DEFAULT 0;
