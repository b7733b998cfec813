-- Tutoring: questions, their assignments to tutors (one row per tutor who held a question,
-- with its reminder and deadline handling, so each deadline acts once), the messages of each
-- question's thread (what a reply to a message continues), and the search index shared
-- with the policy library (one row per document and term; see domain/src/search.rs).

CREATE TABLE questions (
    id              INTEGER PRIMARY KEY,
    person_id       INTEGER NOT NULL REFERENCES people(id),
    topic           TEXT,
    kind            TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    file_id         TEXT,
    chat_id         INTEGER NOT NULL,
    message_id      INTEGER NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'draft',
    tutor_id        INTEGER REFERENCES people(id),
    assignment_id   INTEGER,
    first_answer_at INTEGER,
    answered_by     INTEGER REFERENCES people(id),
    helpful         BOOLEAN,
    rated_at        INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX questions_person ON questions (person_id, id);
CREATE INDEX questions_tutor ON questions (tutor_id, status);

CREATE TABLE question_assignments (
    id            INTEGER PRIMARY KEY,
    question_id   INTEGER NOT NULL REFERENCES questions(id),
    tutor_id      INTEGER NOT NULL REFERENCES people(id),
    reason        TEXT    NOT NULL,
    via           TEXT    NOT NULL,
    passed_by     INTEGER REFERENCES people(id),
    assigned_at   INTEGER NOT NULL,
    reminded_at   INTEGER,
    overdue_at    INTEGER,
    ended_at      INTEGER,
    ended_reason  TEXT,
    next_tutor_id INTEGER REFERENCES people(id)
);
CREATE INDEX question_assignments_question ON question_assignments (question_id, id);
CREATE INDEX question_assignments_tutor ON question_assignments (tutor_id, assigned_at);
CREATE INDEX question_assignments_open ON question_assignments (ended_at, assigned_at);

CREATE TABLE question_messages (
    chat_id         INTEGER NOT NULL,
    message_id      INTEGER NOT NULL,
    question_id     INTEGER NOT NULL REFERENCES questions(id),
    person_id       INTEGER NOT NULL REFERENCES people(id),
    role            TEXT    NOT NULL,
    author_id       INTEGER REFERENCES people(id),
    peer_chat_id    INTEGER,
    peer_message_id INTEGER,
    kind            TEXT,
    text            TEXT,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
CREATE INDEX question_messages_question ON question_messages (question_id, created_at);

CREATE TABLE search_terms (
    doc_kind TEXT    NOT NULL,
    doc_id   INTEGER NOT NULL,
    term     TEXT    NOT NULL,
    PRIMARY KEY (doc_kind, doc_id, term)
);
CREATE INDEX search_terms_term ON search_terms (term, doc_kind, doc_id);
