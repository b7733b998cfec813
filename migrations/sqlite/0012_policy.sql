-- The policy library: one row per document (its Telegram file id, to send it again), and
-- its body cut into passages, so a match and its snippet point at the right place. Titles
-- and passages are indexed in search_terms (doc_kind 'policy' and 'policy_passage') beside
-- the answered questions, one index for /policy and /ask's similar answers.

CREATE TABLE policies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT    NOT NULL,
    issuer      TEXT,
    issued_on   TEXT,
    file_id     TEXT    NOT NULL,
    file_name   TEXT,
    format      TEXT    NOT NULL,
    chars       INTEGER NOT NULL,
    no_text     BOOLEAN NOT NULL DEFAULT FALSE,
    added_by    INTEGER REFERENCES people(id),
    added_at    INTEGER NOT NULL
);

CREATE TABLE policy_passages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    policy_id  INTEGER NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    start_char INTEGER NOT NULL,
    text       TEXT    NOT NULL
);
CREATE INDEX policy_passages_policy ON policy_passages (policy_id, seq);
