-- Roster files admins send to the bot (caption #roster), kept from the preview until the
-- admin confirms or cancels it; the import itself is the CLI's.
CREATE TABLE roster_uploads (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    file_name   TEXT,
    bytes       BLOB NOT NULL,
    sent_at     INTEGER NOT NULL,
    done_at     INTEGER
);
