-- The scheduler: one row per job tick (claimed once by whichever instance inserts it),
-- when each job was first scheduled on this database (ticks before are never caught up),
-- manual runs, and the per-person opt-out of the log reminder.

CREATE TABLE job_ticks (
    job          TEXT    NOT NULL,
    scheduled_at INTEGER NOT NULL,
    state        TEXT    NOT NULL,
    holder       TEXT,
    lease_until  INTEGER,
    started_at   INTEGER,
    finished_at  INTEGER,
    outcome      TEXT,
    PRIMARY KEY (job, scheduled_at)
);

CREATE TABLE job_starts (
    job           TEXT    PRIMARY KEY,
    first_seen_at INTEGER NOT NULL
);

CREATE TABLE job_manual_runs (
    id      INTEGER PRIMARY KEY,
    job     TEXT    NOT NULL,
    ran_at  INTEGER NOT NULL,
    outcome TEXT    NOT NULL
);

ALTER TABLE people ADD COLUMN remind_off BOOLEAN NOT NULL DEFAULT FALSE;

-- When each approver last got the approval-reminder digest: at most one per
-- approval.remind_after_hours, however often the job runs.
CREATE TABLE approval_digests (
    approver_id INTEGER NOT NULL PRIMARY KEY REFERENCES people(id),
    sent_at     INTEGER NOT NULL
);
