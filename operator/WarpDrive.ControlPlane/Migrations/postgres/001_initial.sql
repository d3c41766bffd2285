-- Timestamps are Unix milliseconds (BIGINT) so both engines store and compare them the same way.
-- objects.last_access is 0 for "never accessed", which keeps never-read objects at the front of the stale index.
CREATE TABLE backends (
  name TEXT PRIMARY KEY,
  type TEXT NOT NULL
);
CREATE TABLE objects (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  backend TEXT NOT NULL,
  path TEXT NOT NULL,
  size BIGINT NOT NULL,
  etag TEXT NOT NULL,
  last_modified BIGINT NOT NULL,
  last_access BIGINT NOT NULL DEFAULT 0,
  crawl_id BIGINT NOT NULL DEFAULT 0,
  deleted BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX objects_backend_path ON objects (backend, path);
CREATE INDEX objects_stale ON objects (last_access, id) WHERE deleted = 0;
CREATE INDEX objects_backend_stale ON objects (backend, last_access, id) WHERE deleted = 0;
CREATE TABLE crawls (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  request_id TEXT NOT NULL,
  backend TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  finished_at BIGINT,
  objects BIGINT,
  bytes BIGINT,
  error TEXT
);
CREATE INDEX crawls_backend_finished ON crawls (backend, finished_at);
CREATE INDEX crawls_request ON crawls (request_id);
CREATE TABLE access_daily (
  day BIGINT NOT NULL,
  user_name TEXT NOT NULL,
  backend TEXT NOT NULL,
  reads BIGINT NOT NULL,
  bytes_read BIGINT NOT NULL,
  cache_hits BIGINT NOT NULL,
  miss_bytes BIGINT NOT NULL,
  PRIMARY KEY (day, user_name, backend)
);
CREATE INDEX access_daily_user_day ON access_daily (user_name, day);
CREATE TABLE user_files (
  user_name TEXT NOT NULL,
  backend TEXT NOT NULL,
  path TEXT NOT NULL,
  reads BIGINT NOT NULL,
  bytes_read BIGINT NOT NULL,
  last_access BIGINT NOT NULL,
  PRIMARY KEY (user_name, backend, path)
);
CREATE TABLE team_members (
  user_name TEXT PRIMARY KEY,
  team TEXT NOT NULL
);
CREATE INDEX team_members_team ON team_members (team);
CREATE TABLE quotas (
  team TEXT NOT NULL,
  backend TEXT NOT NULL,
  soft_bytes BIGINT NOT NULL,
  hard_bytes BIGINT NOT NULL,
  state TEXT NOT NULL DEFAULT 'ok',
  PRIMARY KEY (team, backend)
);
CREATE TABLE ingest_batches (
  idempotency_key TEXT PRIMARY KEY,
  received_at BIGINT NOT NULL,
  accepted BIGINT NOT NULL
);
