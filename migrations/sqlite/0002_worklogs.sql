-- Work logs with their attachments, the message ids that make them up (album parts,
-- edits), the edit history, and the outbox of notifications.

ALTER TABLE people ADD COLUMN log_seq INTEGER NOT NULL DEFAULT 0;

CREATE TABLE logs (
    id             INTEGER PRIMARY KEY,
    person_id      INTEGER NOT NULL REFERENCES people(id),
    seq            INTEGER NOT NULL,
    day            TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    text           TEXT,
    latitude       REAL,
    longitude      REAL,
    media_group_id TEXT,
    backdated      BOOLEAN NOT NULL DEFAULT FALSE,
    chat_id        INTEGER NOT NULL,
    message_id     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (person_id, seq),
    UNIQUE (person_id, media_group_id)
);
CREATE INDEX logs_person_day ON logs (person_id, day);
CREATE INDEX logs_day ON logs (day);

CREATE TABLE log_messages (
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    log_id     INTEGER NOT NULL REFERENCES logs(id),
    PRIMARY KEY (chat_id, message_id)
);

CREATE TABLE log_attachments (
    id               INTEGER PRIMARY KEY,
    log_id           INTEGER NOT NULL REFERENCES logs(id),
    kind             TEXT    NOT NULL,
    file_id          TEXT    NOT NULL,
    file_unique_id   TEXT    NOT NULL,
    file_size        INTEGER,
    mime             TEXT,
    file_name        TEXT,
    message_id       INTEGER NOT NULL,
    archived_path    TEXT,
    archive_attempts INTEGER NOT NULL DEFAULT 0,
    archive_after    INTEGER NOT NULL DEFAULT 0,
    archive_error    TEXT,
    UNIQUE (log_id, file_unique_id)
);
CREATE INDEX log_attachments_unarchived ON log_attachments (archived_path, archive_after);

CREATE TABLE log_edits (
    id        INTEGER PRIMARY KEY,
    log_id    INTEGER NOT NULL REFERENCES logs(id),
    old_text  TEXT,
    new_text  TEXT,
    edited_at INTEGER NOT NULL
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    chat_id         INTEGER NOT NULL,
    person_id       INTEGER REFERENCES people(id),
    payload         TEXT    NOT NULL,
    dedup_key       TEXT    UNIQUE,
    not_before      INTEGER NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER,
    last_error      TEXT,
    sent_message_id INTEGER,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (status, not_before);
