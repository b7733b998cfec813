-- Multi-step dialogues (/leave, /ask, a reject reason…) survive a restart: the state of a
-- person's open dialogue is kept here, as JSON written by the bot.

CREATE TABLE dialogues (
    person_id  INTEGER PRIMARY KEY REFERENCES people(id),
    state      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
