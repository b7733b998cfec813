-- Work updates (驻村动态) of reporters' units, the channels the bot posts to, and sharing
-- (互动分享): logs posted to the sharing group, their comments, reactions and digests.

-- Units a reporter reports for besides his own roster unit.
CREATE TABLE reporter_units (
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    unit_id   INTEGER NOT NULL REFERENCES units(id),
    PRIMARY KEY (person_id, unit_id)
);

-- `day` is the local date (configured zone) of the update, so weeks count in local time.
CREATE TABLE work_updates (
    id             INTEGER PRIMARY KEY,
    unit_id        INTEGER NOT NULL REFERENCES units(id),
    person_id      INTEGER NOT NULL REFERENCES people(id),
    day            TEXT    NOT NULL,
    text           TEXT,
    media_group_id TEXT,
    chat_id        INTEGER NOT NULL,
    message_id     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (person_id, media_group_id)
);
CREATE INDEX work_updates_unit_day ON work_updates (unit_id, day);
CREATE INDEX work_updates_day ON work_updates (day);

-- The messages an update is made of (album parts, the edited message).
CREATE TABLE work_update_messages (
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    update_id  INTEGER NOT NULL REFERENCES work_updates(id),
    PRIMARY KEY (chat_id, message_id)
);

CREATE TABLE work_update_photos (
    id             INTEGER PRIMARY KEY,
    update_id      INTEGER NOT NULL REFERENCES work_updates(id),
    file_id        TEXT    NOT NULL,
    file_unique_id TEXT    NOT NULL,
    message_id     INTEGER NOT NULL,
    UNIQUE (update_id, file_unique_id)
);

-- A channel or group that refused the bot (removed, not admin, chat not found): the admins
-- were told once; the row goes when the bot is back.
CREATE TABLE channel_refusals (
    chat_id    INTEGER PRIMARY KEY,
    error      TEXT    NOT NULL,
    refused_at INTEGER NOT NULL
);

-- Which bot message is the receipt of which log (for /share as a reply to it).
CREATE TABLE log_receipts (
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    log_id     INTEGER NOT NULL REFERENCES logs(id),
    PRIMARY KEY (chat_id, message_id)
);

CREATE TABLE shared_logs (
    log_id    INTEGER PRIMARY KEY REFERENCES logs(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    chat_id   INTEGER NOT NULL,
    shared_at INTEGER NOT NULL
);
CREATE INDEX shared_logs_person ON shared_logs (person_id);

-- The messages of a shared post in the sharing group (an album is several).
CREATE TABLE shared_messages (
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    log_id     INTEGER NOT NULL REFERENCES shared_logs(log_id),
    PRIMARY KEY (chat_id, message_id)
);

CREATE TABLE share_comments (
    id         INTEGER PRIMARY KEY,
    log_id     INTEGER NOT NULL REFERENCES shared_logs(log_id),
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    actor_id   INTEGER NOT NULL,
    author     TEXT    NOT NULL,
    text       TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (chat_id, message_id)
);
CREATE INDEX share_comments_log ON share_comments (log_id, created_at);

-- One row per person (Telegram user or anonymous chat) and post: he counts once.
CREATE TABLE share_reactions (
    log_id     INTEGER NOT NULL REFERENCES shared_logs(log_id),
    actor_id   INTEGER NOT NULL,
    reacted_at INTEGER NOT NULL,
    PRIMARY KEY (log_id, actor_id)
);

-- When each author last got the share-digest: what is newer is news.
CREATE TABLE share_digests (
    person_id INTEGER NOT NULL PRIMARY KEY REFERENCES people(id),
    sent_at   INTEGER NOT NULL
);
