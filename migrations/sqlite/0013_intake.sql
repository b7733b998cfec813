-- An update whose handling committed but whose answer may not have gone out (the process
-- died in between) is answered again when Telegram delivers it again.
ALTER TABLE processed_updates ADD COLUMN answered BOOLEAN NOT NULL DEFAULT FALSE;
