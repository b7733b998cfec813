-- `logs_day` served reports by day; they read `log_days` now, so nothing reads it and every
-- log paid for its entry.
DROP INDEX IF EXISTS logs_day;
