-- Supervision: when a person left the roster (a deactivated cadre keeps his row in the
-- reports of the months he was on it), and the days each person has a log, kept by a
-- trigger as logs are written, so a month's presence records read one row per cadre-day
-- instead of every log.

ALTER TABLE people ADD COLUMN deactivated_at INTEGER;
UPDATE people SET deactivated_at = updated_at WHERE NOT active;

CREATE TABLE log_days (
    day       TEXT    NOT NULL,
    person_id INTEGER NOT NULL REFERENCES people(id),
    PRIMARY KEY (day, person_id)
) WITHOUT ROWID;
CREATE INDEX log_days_person ON log_days (person_id, day);
INSERT INTO log_days (day, person_id) SELECT DISTINCT day, person_id FROM logs;

CREATE TRIGGER logs_log_day AFTER INSERT ON logs
BEGIN
    INSERT OR IGNORE INTO log_days (day, person_id) VALUES (NEW.day, NEW.person_id);
END;
CREATE TRIGGER logs_log_day_moved AFTER UPDATE OF day ON logs
BEGIN
    INSERT OR IGNORE INTO log_days (day, person_id) VALUES (NEW.day, NEW.person_id);
    DELETE FROM log_days WHERE day = OLD.day AND person_id = OLD.person_id
        AND NOT EXISTS (SELECT 1 FROM logs WHERE person_id = OLD.person_id AND day = OLD.day);
END;
