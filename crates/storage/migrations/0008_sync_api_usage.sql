-- What each sync run's Admin API calls cost and waited for, shown in its history.
ALTER TABLE sync_runs
    ADD COLUMN api_calls bigint NOT NULL DEFAULT 0,
    ADD COLUMN api_cost double precision NOT NULL DEFAULT 0,
    ADD COLUMN throttle_waits bigint NOT NULL DEFAULT 0,
    ADD COLUMN throttle_wait_ms bigint NOT NULL DEFAULT 0,
    ADD COLUMN throttled bigint NOT NULL DEFAULT 0,
    ADD COLUMN retries bigint NOT NULL DEFAULT 0;
