-- Every list's sorts read an index in the list's own order, (tenant, key, store, id), so a
-- page costs the page in either direction, wherever its cursor is: the orders list sorted
-- every order of the tenant for each page (18 ms at 62,000 orders, growing with the shop).
-- The orders index by store and time served only the list; its replacement serves both
-- one store's list and the tenant's.
DROP INDEX orders_processed;
CREATE INDEX orders_by_processed ON orders (tenant_id, processed_at, store_id, order_id);
CREATE INDEX orders_by_total ON orders (tenant_id, total_price, store_id, order_id);
CREATE INDEX products_by_title ON products (tenant_id, lower(title), store_id, product_id);
CREATE INDEX products_by_created ON products (tenant_id, created_at, store_id, product_id);
CREATE INDEX products_by_updated ON products (tenant_id, updated_at, store_id, product_id);
CREATE INDEX customers_by_created ON customers (tenant_id, created_at, store_id, customer_id);
CREATE INDEX customers_by_updated ON customers (tenant_id, updated_at, store_id, customer_id);
-- Email lookups read its first two columns as they read the index it replaces.
DROP INDEX customers_email;
CREATE INDEX customers_by_email ON customers (tenant_id, lower(email), store_id, customer_id);
