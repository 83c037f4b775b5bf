-- An API key may be limited to some of the tenant's stores (none: all of them).
ALTER TABLE api_keys ADD COLUMN store_ids uuid[];
