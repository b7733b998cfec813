-- The days each person has a log, a row per person and month with the days as bits (day d
-- is bit d-1), kept by a trigger on log_days: a month's presence records read one row per
-- cadre (5,000 for a city) instead of one per cadre-day (150,000).

CREATE TABLE log_months (
    month     TEXT   NOT NULL,              -- 'YYYY-MM'
    person_id BIGINT NOT NULL REFERENCES people(id),
    days      BIGINT NOT NULL,
    PRIMARY KEY (month, person_id)
);
INSERT INTO log_months (month, person_id, days)
    SELECT to_char(day, 'YYYY-MM'), person_id,
           SUM(CAST(1 AS BIGINT) << (CAST(EXTRACT(DAY FROM day) AS INTEGER) - 1))
    FROM log_days GROUP BY to_char(day, 'YYYY-MM'), person_id;

CREATE FUNCTION log_months_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO log_months (month, person_id, days)
            VALUES (to_char(NEW.day, 'YYYY-MM'), NEW.person_id,
                    CAST(1 AS BIGINT) << (CAST(EXTRACT(DAY FROM NEW.day) AS INTEGER) - 1))
            ON CONFLICT (month, person_id) DO UPDATE SET days = log_months.days | excluded.days;
    ELSE
        UPDATE log_months
            SET days = days & ~(CAST(1 AS BIGINT) << (CAST(EXTRACT(DAY FROM OLD.day) AS INTEGER) - 1))
            WHERE month = to_char(OLD.day, 'YYYY-MM') AND person_id = OLD.person_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER log_days_month AFTER INSERT OR DELETE ON log_days
    FOR EACH ROW EXECUTE FUNCTION log_months_keep();
