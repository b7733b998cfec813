-- Supervision: when a person left the roster (a deactivated cadre keeps his row in the
-- reports of the months he was on it), and the days each person has a log, kept by a
-- trigger as logs are written, so a month's presence records read one row per cadre-day
-- instead of every log.

ALTER TABLE people ADD COLUMN deactivated_at BIGINT;
UPDATE people SET deactivated_at = updated_at WHERE NOT active;

CREATE TABLE log_days (
    day       DATE   NOT NULL,
    person_id BIGINT NOT NULL REFERENCES people(id),
    PRIMARY KEY (day, person_id)
);
CREATE INDEX log_days_person ON log_days (person_id, day);
INSERT INTO log_days (day, person_id) SELECT DISTINCT day, person_id FROM logs;

CREATE FUNCTION log_days_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO log_days (day, person_id) VALUES (NEW.day, NEW.person_id)
        ON CONFLICT DO NOTHING;
    IF TG_OP = 'UPDATE' AND OLD.day <> NEW.day THEN
        DELETE FROM log_days WHERE day = OLD.day AND person_id = OLD.person_id
            AND NOT EXISTS (SELECT 1 FROM logs WHERE person_id = OLD.person_id AND day = OLD.day);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER logs_log_day AFTER INSERT OR UPDATE OF day ON logs
    FOR EACH ROW EXECUTE FUNCTION log_days_keep();
