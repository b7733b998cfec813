-- Leave requests, their approval chain (one row per level), and the approval cards sent
-- to each approver of a level (the record of who may decide).

CREATE TABLE leave_requests (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES people(id),
    start_day     TEXT    NOT NULL,
    end_day       TEXT    NOT NULL,
    days          INTEGER NOT NULL,
    reason        TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending',
    step          INTEGER NOT NULL DEFAULT 0,
    reject_reason TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX leave_requests_person ON leave_requests (person_id, status);

CREATE TABLE leave_steps (
    request_id     INTEGER NOT NULL REFERENCES leave_requests(id),
    step           INTEGER NOT NULL,
    level          INTEGER NOT NULL,
    unit_id        INTEGER NOT NULL REFERENCES units(id),
    escalated_from TEXT    NOT NULL DEFAULT '',
    status         TEXT    NOT NULL DEFAULT 'waiting',
    decided_by     INTEGER REFERENCES people(id),
    decided_at     INTEGER,
    opened_at      INTEGER,
    PRIMARY KEY (request_id, step)
);

CREATE TABLE leave_cards (
    request_id  INTEGER NOT NULL REFERENCES leave_requests(id),
    step        INTEGER NOT NULL,
    approver_id INTEGER NOT NULL REFERENCES people(id),
    created_at  INTEGER NOT NULL,
    reminded_at INTEGER,
    PRIMARY KEY (request_id, step, approver_id)
);
CREATE INDEX leave_cards_approver ON leave_cards (approver_id);
