-- The whole marketplace schema. Later plugins add behaviour, not tables.
-- Timestamps are ISO-8601 UTC text (Laravel's format); money is integer minor units.

CREATE TABLE users (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    email             TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash     TEXT NOT NULL,
    role              TEXT NOT NULL CHECK (role IN ('client', 'artisan', 'admin')),
    phone             TEXT,
    avatar_url        TEXT,
    is_verified       INTEGER NOT NULL DEFAULT 0,
    suspended_until   TEXT,
    suspension_reason TEXT,
    email_verified_at TEXT,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE personal_access_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE, -- hex SHA-256 of the secret part; the secret itself is never stored
    abilities    TEXT NOT NULL DEFAULT '["*"]',
    last_used_at TEXT,
    expires_at   TEXT,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX personal_access_tokens_user ON personal_access_tokens(user_id);

CREATE TABLE artisan_profiles (
    user_id      INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    headline     TEXT NOT NULL DEFAULT '',
    bio          TEXT NOT NULL DEFAULT '',
    skills       TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    categories   TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    hourly_rate  INTEGER NOT NULL DEFAULT 0, -- minor units
    currency     TEXT NOT NULL DEFAULT 'NGN',
    lat          REAL,
    lng          REAL,
    address      TEXT NOT NULL DEFAULT '',
    city         TEXT NOT NULL DEFAULT '',
    availability TEXT NOT NULL DEFAULT 'available' CHECK (availability IN ('available', 'busy', 'unavailable')),
    verified     INTEGER NOT NULL DEFAULT 0,
    rating       REAL NOT NULL DEFAULT 0,
    review_count INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    client_id   INTEGER NOT NULL REFERENCES users(id),
    artisan_id  INTEGER REFERENCES users(id), -- the hired artisan, once there is one
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    category    TEXT NOT NULL,
    skills      TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    budget      INTEGER NOT NULL CHECK (budget > 0), -- minor units
    currency    TEXT NOT NULL DEFAULT 'NGN',
    lat         REAL NOT NULL,
    lng         REAL NOT NULL,
    address     TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'completed', 'cancelled')),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX jobs_status_created ON jobs(status, created_at);
CREATE INDEX jobs_client ON jobs(client_id);
CREATE INDEX jobs_category ON jobs(category);

CREATE TABLE job_applications (
    id              INTEGER PRIMARY KEY,
    job_id          INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    artisan_id      INTEGER NOT NULL REFERENCES users(id),
    cover_letter    TEXT NOT NULL DEFAULT '',
    proposed_amount INTEGER NOT NULL CHECK (proposed_amount > 0),
    estimated_days  INTEGER,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected', 'withdrawn')),
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (job_id, artisan_id)
);

CREATE TABLE milestones (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    amount      INTEGER NOT NULL CHECK (amount > 0),
    currency    TEXT NOT NULL DEFAULT 'NGN',
    position    INTEGER NOT NULL DEFAULT 0,
    due_date    TEXT,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'funded', 'submitted', 'approved', 'released', 'refunded', 'cancelled')),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX milestones_job ON milestones(job_id, position);

CREATE TABLE reviews (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs(id),
    reviewer_id INTEGER NOT NULL REFERENCES users(id),
    reviewee_id INTEGER NOT NULL REFERENCES users(id),
    rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment     TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (job_id, reviewer_id)
);
CREATE INDEX reviews_reviewee ON reviews(reviewee_id);

CREATE TABLE conversations (
    id              INTEGER PRIMARY KEY,
    user_one_id     INTEGER NOT NULL REFERENCES users(id), -- the smaller user id
    user_two_id     INTEGER NOT NULL REFERENCES users(id), -- the larger user id
    job_id          INTEGER REFERENCES jobs(id),
    last_message_at TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK (user_one_id < user_two_id),
    UNIQUE (user_one_id, user_two_id)
);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    sender_id       INTEGER NOT NULL REFERENCES users(id),
    recipient_id    INTEGER NOT NULL REFERENCES users(id),
    content         TEXT NOT NULL,
    message_type    TEXT NOT NULL DEFAULT 'text' CHECK (message_type IN ('text', 'image', 'file', 'system')),
    attachment_url  TEXT,
    read_at         TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);
CREATE INDEX messages_recipient_unread ON messages(recipient_id, read_at);

CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL DEFAULT '{}',
    read_at    TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX notifications_user ON notifications(user_id, id);

CREATE TABLE payments (
    id                 INTEGER PRIMARY KEY,
    reference          TEXT NOT NULL UNIQUE,
    provider           TEXT NOT NULL CHECK (provider IN ('paystack', 'flutterwave')),
    user_id            INTEGER NOT NULL REFERENCES users(id),
    job_id             INTEGER REFERENCES jobs(id),
    milestone_id       INTEGER REFERENCES milestones(id),
    amount             INTEGER NOT NULL CHECK (amount > 0),
    currency           TEXT NOT NULL DEFAULT 'NGN',
    status             TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'success', 'failed', 'abandoned', 'refunded')),
    provider_reference TEXT,
    authorization_url  TEXT,
    metadata           TEXT NOT NULL DEFAULT '{}',
    paid_at            TEXT,
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX payments_milestone ON payments(milestone_id);

-- Double-entry ledger: every transaction_id's debits equal its credits.
CREATE TABLE ledger_entries (
    id             INTEGER PRIMARY KEY,
    transaction_id TEXT NOT NULL,
    account        TEXT NOT NULL, -- e.g. 'gateway:paystack', 'escrow:milestone:12', 'artisan:7', 'platform:fees'
    direction      TEXT NOT NULL CHECK (direction IN ('debit', 'credit')),
    amount         INTEGER NOT NULL CHECK (amount > 0),
    currency       TEXT NOT NULL DEFAULT 'NGN',
    payment_id     INTEGER REFERENCES payments(id),
    milestone_id   INTEGER REFERENCES milestones(id),
    memo           TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX ledger_entries_tx ON ledger_entries(transaction_id);
CREATE INDEX ledger_entries_account ON ledger_entries(account);

CREATE TABLE payouts (
    id           INTEGER PRIMARY KEY,
    artisan_id   INTEGER NOT NULL REFERENCES users(id),
    milestone_id INTEGER REFERENCES milestones(id),
    amount       INTEGER NOT NULL CHECK (amount > 0),
    currency     TEXT NOT NULL DEFAULT 'NGN',
    provider     TEXT NOT NULL,
    reference    TEXT NOT NULL UNIQUE,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'success', 'failed', 'reversed')),
    bank_code    TEXT,
    account_last4 TEXT,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE refunds (
    id         INTEGER PRIMARY KEY,
    payment_id INTEGER NOT NULL REFERENCES payments(id),
    amount     INTEGER NOT NULL CHECK (amount > 0),
    reason     TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processed', 'failed')),
    reference  TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Gateway webhooks, recorded once by (provider, event_key) so a replay is a no-op.
CREATE TABLE webhook_events (
    id          INTEGER PRIMARY KEY,
    provider    TEXT NOT NULL,
    event_key   TEXT NOT NULL,
    event       TEXT NOT NULL,
    payload     TEXT NOT NULL,
    received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (provider, event_key)
);

CREATE TABLE verifications (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    kind         TEXT NOT NULL, -- 'identity', 'skill', 'address'
    document_url TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    reviewer_id  INTEGER REFERENCES users(id),
    notes        TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    reviewed_at  TEXT
);

CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    actor_id     INTEGER REFERENCES users(id),
    action       TEXT NOT NULL,
    subject_type TEXT NOT NULL DEFAULT '',
    subject_id   INTEGER,
    details      TEXT NOT NULL DEFAULT '{}',
    ip           TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Search outbox: written by triggers in the same transaction as the domain change,
-- so no writer can forget it. The drainer reads the current row by (index_name, doc_id)
-- and marks the outbox row done only when the search engine confirmed the task.
CREATE TABLE search_outbox (
    id              INTEGER PRIMARY KEY,
    index_name      TEXT NOT NULL CHECK (index_name IN ('jobs', 'artisans')),
    doc_id          INTEGER NOT NULL,
    op              TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TEXT,
    done_at         TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX search_outbox_pending ON search_outbox(done_at, id);

CREATE TRIGGER jobs_outbox_insert AFTER INSERT ON jobs BEGIN
    INSERT INTO search_outbox(index_name, doc_id, op) VALUES ('jobs', NEW.id, 'upsert');
END;
CREATE TRIGGER jobs_outbox_update AFTER UPDATE ON jobs BEGIN
    INSERT INTO search_outbox(index_name, doc_id, op) VALUES ('jobs', NEW.id, 'upsert');
END;
CREATE TRIGGER jobs_outbox_delete AFTER DELETE ON jobs BEGIN
    INSERT INTO search_outbox(index_name, doc_id, op) VALUES ('jobs', OLD.id, 'delete');
END;
CREATE TRIGGER artisan_profiles_outbox_insert AFTER INSERT ON artisan_profiles BEGIN
    INSERT INTO search_outbox(index_name, doc_id, op) VALUES ('artisans', NEW.user_id, 'upsert');
END;
CREATE TRIGGER artisan_profiles_outbox_update AFTER UPDATE ON artisan_profiles BEGIN
    INSERT INTO search_outbox(index_name, doc_id, op) VALUES ('artisans', NEW.user_id, 'upsert');
END;
CREATE TRIGGER artisan_profiles_outbox_delete AFTER DELETE ON artisan_profiles BEGIN
    INSERT INTO search_outbox(index_name, doc_id, op) VALUES ('artisans', OLD.user_id, 'delete');
END;
-- An artisan's name lives on users: renaming one re-indexes the profile.
CREATE TRIGGER users_outbox_update AFTER UPDATE OF name, is_verified ON users
WHEN EXISTS (SELECT 1 FROM artisan_profiles WHERE user_id = NEW.id) BEGIN
    INSERT INTO search_outbox(index_name, doc_id, op) VALUES ('artisans', NEW.id, 'upsert');
END;
