-- Fewer writes on a work log's way.
-- `logs_day` served reports by day; they read `log_days` now, so nothing reads it and every
-- log paid for its entry.
DROP INDEX IF EXISTS logs_day;
-- A receipt's foreign key locked its log's row (FOR KEY SHARE: a write of the log's page
-- and a WAL record per receipt). Logs are never deleted, and the receipts' insert keeps
-- only receipts of existing logs itself.
ALTER TABLE log_receipts DROP CONSTRAINT IF EXISTS log_receipts_log_id_fkey;
-- Every claimed update is marked answered a moment later: room on its page keeps that
-- update a heap-only one (no new index entry).
ALTER TABLE processed_updates SET (fillfactor = 60);
