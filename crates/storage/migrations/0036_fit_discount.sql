-- The monthly discount rate a fit's lifetime values were computed at (configurable, so
-- each fit says which it used).
ALTER TABLE prediction_fits ADD COLUMN monthly_discount double precision NOT NULL DEFAULT 0.01;
