-- Supervision: when a person left the roster (a deactivated cadre keeps his row in the
-- reports of the months he was on it), and an index that serves the month's presence
-- record of every cadre from the index alone.

ALTER TABLE people ADD COLUMN deactivated_at BIGINT;
UPDATE people SET deactivated_at = updated_at WHERE NOT active;

CREATE INDEX logs_day_person ON logs (day, person_id);
