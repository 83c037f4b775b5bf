-- When Shopify made the stored version of a record, to order two versions that share an
-- `updated_at` (REST timestamps have whole seconds, and Shopify does send two versions
-- within one): the delivery's X-Shopify-Triggered-At for webhooks, when the export was
-- asked for for synced records. The upsert guard compares (updated_at, version_at); NULL
-- (a delivery without the header, or a row stored before this column) sorts first.
ALTER TABLE customers ADD COLUMN version_at timestamptz;
ALTER TABLE products ADD COLUMN version_at timestamptz;
ALTER TABLE orders ADD COLUMN version_at timestamptz;
ALTER TABLE checkouts ADD COLUMN version_at timestamptz;
