-- One-time links to the web view for a desktop browser (`/web` in the chat): the SHA-256
-- of the link's secret, whose it is, until when, and whether it was used.
CREATE TABLE web_links (
    token_hash  TEXT PRIMARY KEY,
    person_id   BIGINT NOT NULL REFERENCES people(id),
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
