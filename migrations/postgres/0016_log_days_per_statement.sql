-- Work logs are written in batches. `log_days` is now kept once per statement (one INSERT
-- of the batch's distinct days) instead of once per row (a PL/pgSQL call and an INSERT for
-- every log); edits that move a log's day keep the row trigger. Album ids are unique per
-- person where there is one: single logs (no album) no longer add an entry to that index.

DROP TRIGGER logs_log_day ON logs;

CREATE FUNCTION log_days_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- In one order, so that two batches meeting on a day never wait for each other in a cycle.
    INSERT INTO log_days (day, person_id)
        SELECT DISTINCT day, person_id FROM new_logs ORDER BY person_id, day
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER logs_log_day_insert AFTER INSERT ON logs
    REFERENCING NEW TABLE AS new_logs
    FOR EACH STATEMENT EXECUTE FUNCTION log_days_insert();
CREATE TRIGGER logs_log_day_update AFTER UPDATE OF day ON logs
    FOR EACH ROW EXECUTE FUNCTION log_days_keep();

ALTER TABLE logs DROP CONSTRAINT logs_person_id_media_group_id_key;
CREATE UNIQUE INDEX logs_album ON logs (person_id, media_group_id) WHERE media_group_id IS NOT NULL;
