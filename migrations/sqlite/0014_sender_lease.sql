-- One sender delivers for the whole bot, so Telegram's limits hold for the bot and not per
-- instance: the holder of this one row's lease. `cooldown_until` is Telegram's last
-- `retry_after`, so that the next holder honours it too.
CREATE TABLE sender_lease (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    holder         TEXT    NOT NULL,
    until_ms       BIGINT  NOT NULL,
    cooldown_until BIGINT  NOT NULL DEFAULT 0
);
