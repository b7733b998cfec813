-- Roster files admins send to the bot (caption #roster), kept from the preview until the
-- admin confirms or cancels it; the import itself is the CLI's.
CREATE TABLE roster_uploads (
    id          BIGSERIAL PRIMARY KEY,
    person_id   BIGINT NOT NULL REFERENCES people(id),
    file_name   TEXT,
    bytes       BYTEA NOT NULL,
    sent_at     BIGINT NOT NULL,
    done_at     BIGINT
);
