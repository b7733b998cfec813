-- A version per outbox row: every re-queue (an album part, a card to refresh) bumps it, so a
-- sender finishing an older version knows the row must go out again.

ALTER TABLE outbox ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
