-- An applied event whose payload lacked a date its record needs (Shopify's test notifications
-- send `null`): the record is dated when the webhook was received, and the event log says so.
ALTER TABLE webhook_events ADD COLUMN dated_on_receipt boolean NOT NULL DEFAULT false;
