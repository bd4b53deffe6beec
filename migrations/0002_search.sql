-- The embedded search engine (search/engine_embedded.go), used when MEILI_URL is unset.
-- The outbox drainer fills these tables exactly as it fills Meilisearch; they are a
-- derived copy of artisan_profiles/users/jobs and can be rebuilt at any time
-- (sharpjob reindex). doc holds the document as JSON; the other columns exist for
-- filtering and sorting. skills_lc / categories_lc / category_lc are lower-cased
-- JSON arrays so filters match case-insensitively, as Meilisearch's do.

CREATE TABLE search_artisans (
    id            INTEGER PRIMARY KEY,
    doc           TEXT NOT NULL,
    skills_lc     TEXT NOT NULL DEFAULT '[]',
    categories_lc TEXT NOT NULL DEFAULT '[]',
    lat           REAL,
    lng           REAL,
    hourly_rate   INTEGER NOT NULL DEFAULT 0,
    verified      INTEGER NOT NULL DEFAULT 0,
    availability  TEXT NOT NULL DEFAULT 'available',
    rating        REAL NOT NULL DEFAULT 0,
    review_count  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX search_artisans_geo ON search_artisans(lat, lng);
CREATE INDEX search_artisans_rating ON search_artisans(rating DESC, review_count DESC, id);
CREATE INDEX search_artisans_rate ON search_artisans(hourly_rate, id);

CREATE VIRTUAL TABLE search_artisans_fts USING fts5(
    name, skills, headline, categories, city, bio,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);

CREATE TABLE search_jobs (
    id          INTEGER PRIMARY KEY,
    doc         TEXT NOT NULL,
    skills_lc   TEXT NOT NULL DEFAULT '[]',
    category_lc TEXT NOT NULL DEFAULT '',
    lat         REAL NOT NULL,
    lng         REAL NOT NULL,
    budget      INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT 'open',
    client_id   INTEGER NOT NULL DEFAULT 0,
    created_ts  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX search_jobs_geo ON search_jobs(lat, lng);
CREATE INDEX search_jobs_status_created ON search_jobs(status, created_ts DESC, id);
CREATE INDEX search_jobs_category ON search_jobs(category_lc);

CREATE VIRTUAL TABLE search_jobs_fts USING fts5(
    title, skills, category, description, address,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
