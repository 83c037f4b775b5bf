-- Backfill and sync runs: what ran, how far it got, how it ended.
CREATE TABLE sync_runs (
    tenant_id   uuid NOT NULL,
    store_id    uuid NOT NULL,
    run_id      uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('backfill', 'incremental')),
    status      text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    phase       text NOT NULL,
    records     bigint NOT NULL DEFAULT 0,
    started_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    error       text,
    PRIMARY KEY (tenant_id, run_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);
CREATE INDEX sync_runs_store ON sync_runs (tenant_id, store_id, started_at);

ALTER TABLE sync_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sync_runs USING (tenant_id = xeno_current_tenant())
    WITH CHECK (tenant_id = xeno_current_tenant());
