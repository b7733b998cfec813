-- Holiday data imported with `zhucun calendar import`: per year, its rest days and make-up
-- working days. A year here replaces that year of the shipped (or configured) calendar.
CREATE TABLE calendar_years (
    year        INTEGER PRIMARY KEY,
    source      TEXT,
    imported_at BIGINT NOT NULL
);

CREATE TABLE calendar_days (
    day         TEXT PRIMARY KEY,
    year        INTEGER NOT NULL REFERENCES calendar_years(year) ON DELETE CASCADE,
    rest        BOOLEAN NOT NULL
);
