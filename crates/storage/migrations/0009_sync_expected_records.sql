-- How many records a sync expects to write (Shopify's counts when it started): with the
-- records written so far, the run's progress and ETA.
ALTER TABLE sync_runs ADD COLUMN expected_records bigint;
