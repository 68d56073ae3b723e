-- What each server owns. Portable SQL: it runs unchanged on SQLite and PostgreSQL (no serial columns, no
-- booleans: flags are 0/1 integers; ids are Discord snowflakes in BIGINT). No table has a user id.

CREATE TABLE guild_settings (
    guild_id BIGINT PRIMARY KEY,
    language TEXT,                          -- 'en' or 'es'; NULL: the server's locale
    private_default INTEGER NOT NULL DEFAULT 0,
    pin_role_id BIGINT,                     -- a role that may pin answers, besides Pin/Manage Messages
    repeat_window_seconds INTEGER,          -- NULL: the bot's REPEAT_WINDOW_SECONDS
    rate_count INTEGER,                     -- NULL: the bot's USER_RATE_COUNT
    rate_seconds INTEGER,                   -- NULL: the bot's USER_RATE_SECONDS
    report_channel_id BIGINT,               -- where "Report a problem" posts
    keep_unanswered_text INTEGER NOT NULL DEFAULT 0
);

-- The channels where the bot answers in public; none listed: every channel.
CREATE TABLE answer_channels (
    guild_id BIGINT NOT NULL,
    channel_id BIGINT NOT NULL,
    PRIMARY KEY (guild_id, channel_id)
);

-- The server moderators' own notes, on one topic or on every answer (topic_id '*').
CREATE TABLE help_notes (
    guild_id BIGINT NOT NULL,
    note_id INTEGER NOT NULL,               -- numbered per server: 1, 2, 3...
    topic_id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (guild_id, note_id)
);

-- The server's own words for a topic.
CREATE TABLE aliases (
    guild_id BIGINT NOT NULL,
    alias TEXT NOT NULL,                    -- normalised: casefolded, spaces collapsed
    topic_id TEXT NOT NULL,
    PRIMARY KEY (guild_id, alias)
);

-- Counters by server, ISO week and topic; status is match, ambiguous or none (topic '' for none).
CREATE TABLE answer_stats (
    guild_id BIGINT NOT NULL,
    week TEXT NOT NULL,                     -- '2026-W49'
    topic_id TEXT NOT NULL,
    status TEXT NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, week, topic_id, status)
);

-- Helpful / not helpful / reported, counted the same way.
CREATE TABLE feedback (
    guild_id BIGINT NOT NULL,
    week TEXT NOT NULL,
    topic_id TEXT NOT NULL,
    kind TEXT NOT NULL,                     -- helpful, unhelpful, report
    n BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, week, topic_id, kind)
);

-- The text of questions the table could not answer: written only for servers that turned it on.
CREATE TABLE unanswered (
    guild_id BIGINT NOT NULL,
    week TEXT NOT NULL,
    question TEXT NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, week, question)
);

-- Pinned answers, so that a reload can edit them in place when their text changes.
CREATE TABLE pins (
    message_id BIGINT PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    channel_id BIGINT NOT NULL,
    topic_id TEXT NOT NULL,
    lang TEXT NOT NULL,
    table_version TEXT NOT NULL,
    via TEXT NOT NULL,                      -- button or menu
    pinned_at BIGINT NOT NULL               -- Unix seconds
);
CREATE INDEX pins_by_guild ON pins (guild_id);
