-- Foundation: the unit tree, the roster, registration and update de-duplication.
-- Instants are BIGINT milliseconds since the Unix epoch (UTC); local days are DATE/TEXT.

CREATE TABLE units (
    id        INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES units(id),
    path      TEXT    NOT NULL UNIQUE,
    name      TEXT    NOT NULL,
    level     INTEGER NOT NULL
);

CREATE TABLE people (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    phone         TEXT    NOT NULL UNIQUE,
    unit_id       INTEGER NOT NULL REFERENCES units(id),
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    tg_user_id    INTEGER UNIQUE,
    chat_id       INTEGER,
    lang          TEXT,
    unreachable   BOOLEAN NOT NULL DEFAULT FALSE,
    registered_at INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX people_unit ON people (unit_id);

CREATE TABLE person_roles (
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    role      TEXT    NOT NULL,
    PRIMARY KEY (person_id, role)
);
CREATE INDEX person_roles_role ON person_roles (role, person_id);

CREATE TABLE tutor_topics (
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    topic     TEXT    NOT NULL,
    PRIMARY KEY (person_id, topic)
);
CREATE INDEX tutor_topics_topic ON tutor_topics (topic, person_id);

CREATE TABLE invites (
    code       TEXT    PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    used_by    INTEGER
);

CREATE TABLE processed_updates (
    update_id   INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL
);
