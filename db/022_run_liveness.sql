-- Liveness of a run's writer (schema 22). A process killed outright (SIGKILL, OOM, power) cannot
-- mark its run as ended, so the row records who writes it and when it last showed signs of life:
-- a 'running' run whose process is gone is reported as crashed (src/db/runLiveness.ts), and the
-- next writer on the same host marks it failed. Old rows keep NULLs: their liveness is unknown.
ALTER TABLE runs ADD COLUMN pid INTEGER;          -- the writing process
ALTER TABLE runs ADD COLUMN host TEXT;            -- os.hostname() of that process
ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;    -- ISO 8601 wall clock of its last commit or beat
