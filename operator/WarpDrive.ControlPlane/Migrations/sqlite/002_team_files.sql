-- Per-(team, object) rollup of the last read by any of the team's users, so usage by team counts its files with
-- one index range per team instead of a distinct count over user_files joined to team_members.
-- Users without a team are kept under '(none)' (SqlGovernanceStore.NoTeam). Ingest keeps it current; SetTeam
-- rebuilds the named teams whose membership changed and patches '(none)' for the users who join or leave it.
CREATE TABLE team_files (
  team TEXT NOT NULL,
  backend TEXT NOT NULL,
  path TEXT NOT NULL,
  last_access INTEGER NOT NULL,
  PRIMARY KEY (team, backend, path)
);
-- backend is the last column so the window count stays inside the index with or without a backend filter.
CREATE INDEX team_files_team_access ON team_files (team, last_access, backend);
CREATE INDEX user_files_user_access ON user_files (user_name, last_access, backend);
-- Usage sums the window's rows of access_daily; with the summed columns in the index that is one index range
-- without a table lookup per row.
CREATE INDEX access_daily_day_usage ON access_daily (day, user_name, backend, reads, bytes_read, cache_hits);
-- Who else read an object: SetTeam recounts (none) for the objects of users who leave it.
CREATE INDEX user_files_object ON user_files (backend, path, last_access);
INSERT INTO team_files (team, backend, path, last_access)
SELECT coalesce(t.team, '(none)'), f.backend, f.path, max(f.last_access)
FROM user_files f LEFT JOIN team_members t ON t.user_name = f.user_name
GROUP BY coalesce(t.team, '(none)'), f.backend, f.path;
