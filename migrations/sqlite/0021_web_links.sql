-- One-time links to the web view for a desktop browser (`/web` in the chat): the SHA-256
-- of the link's secret, whose it is, until when, and whether it was used.
CREATE TABLE web_links (
    token_hash  TEXT PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
