-- Predictive segments kept in step with a Shopify customer tag, per store: switched on by a
-- store's admin, applied at the end of each sync (after the refit that moves customers
-- between segments).
CREATE TABLE segment_tag_syncs (
    tenant_id   uuid NOT NULL,
    store_id    uuid NOT NULL,
    segment     text NOT NULL,
    tag         text NOT NULL CHECK (length(tag) BETWEEN 1 AND 40),
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Switched off: the next run takes the tag off everyone Xeno tagged, then forgets it.
    removing    boolean NOT NULL DEFAULT false,
    -- The last run: when it ended, what it changed, and why it stopped short if it did.
    last_run_at timestamptz,
    added       integer NOT NULL DEFAULT 0,
    removed     integer NOT NULL DEFAULT 0,
    last_error  text,
    PRIMARY KEY (tenant_id, store_id, segment),
    UNIQUE (tenant_id, store_id, tag),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);

-- The customers Xeno has tagged at Shopify for a segment, written after each call Shopify
-- accepted: a run that stops part way resumes from here, and a customer who leaves the
-- segment loses the tag.
CREATE TABLE segment_tagged (
    tenant_id   uuid NOT NULL,
    store_id    uuid NOT NULL,
    segment     text NOT NULL,
    customer_id bigint NOT NULL,
    tagged_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, store_id, segment, customer_id),
    FOREIGN KEY (tenant_id, store_id, segment)
        REFERENCES segment_tag_syncs (tenant_id, store_id, segment) ON DELETE CASCADE
);

ALTER TABLE segment_tag_syncs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON segment_tag_syncs
    USING (tenant_id = xeno_current_tenant()) WITH CHECK (tenant_id = xeno_current_tenant());
ALTER TABLE segment_tagged ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON segment_tagged
    USING (tenant_id = xeno_current_tenant()) WITH CHECK (tenant_id = xeno_current_tenant());
