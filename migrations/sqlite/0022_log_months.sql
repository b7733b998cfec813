-- The days each person has a log, a row per person and month with the days as bits (day d
-- is bit d-1), kept by triggers on log_days: a month's presence records read one row per
-- cadre (5,000 for a city) instead of one per cadre-day (150,000).

CREATE TABLE log_months (
    month     TEXT    NOT NULL,             -- 'YYYY-MM'
    person_id INTEGER NOT NULL REFERENCES people(id),
    days      INTEGER NOT NULL,
    PRIMARY KEY (month, person_id)
) WITHOUT ROWID;
INSERT INTO log_months (month, person_id, days)
    SELECT substr(day, 1, 7), person_id, SUM(1 << (CAST(substr(day, 9, 2) AS INTEGER) - 1))
    FROM log_days GROUP BY substr(day, 1, 7), person_id;

CREATE TRIGGER log_days_month_add AFTER INSERT ON log_days
BEGIN
    INSERT INTO log_months (month, person_id, days)
        VALUES (substr(NEW.day, 1, 7), NEW.person_id, 1 << (CAST(substr(NEW.day, 9, 2) AS INTEGER) - 1))
        ON CONFLICT (month, person_id) DO UPDATE SET days = days | excluded.days;
END;
CREATE TRIGGER log_days_month_remove AFTER DELETE ON log_days
BEGIN
    UPDATE log_months SET days = days & ~(1 << (CAST(substr(OLD.day, 9, 2) AS INTEGER) - 1))
        WHERE month = substr(OLD.day, 1, 7) AND person_id = OLD.person_id;
END;
