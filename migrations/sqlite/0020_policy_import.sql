-- Policy documents imported in bulk (`zhucun policy import`): a document is known by the
-- SHA-256 of its file, so importing the same file again adds nothing. An imported file is
-- not on Telegram yet: its bytes wait here and its file_id is '' until it is first sent.
ALTER TABLE policies ADD COLUMN content_hash TEXT;
CREATE UNIQUE INDEX policies_content_hash ON policies (content_hash) WHERE content_hash IS NOT NULL;

CREATE TABLE policy_files (
    policy_id   INTEGER PRIMARY KEY REFERENCES policies(id) ON DELETE CASCADE,
    bytes       BLOB NOT NULL
);
