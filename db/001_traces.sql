-- Trace schema, version 1. Times are INTEGER nanoseconds of the run's own clock (virtual in sim,
-- wall in live). Wall-clock facts (started_at, wall_s) live only in `runs`, so trace rows of the
-- same scenario and seed are byte-identical across runs.

CREATE TABLE runs (
  run_id        INTEGER PRIMARY KEY,
  mode          TEXT    NOT NULL CHECK (mode IN ('sim', 'live')),
  system        TEXT    NOT NULL,
  scenario_name TEXT    NOT NULL,
  scenario_json TEXT    NOT NULL,          -- the decoded scenario, defaults applied
  seed          INTEGER NOT NULL,
  started_at    TEXT    NOT NULL,          -- ISO 8601 wall clock
  code_version  TEXT    NOT NULL,          -- git describe, else the package version
  hardware      TEXT    NOT NULL,          -- JSON: the scenario's hardware pools
  status        TEXT    NOT NULL DEFAULT 'running'
                        CHECK (status IN ('running', 'finished', 'interrupted', 'failed')),
  finished_at   TEXT,                      -- wall clock when it ended
  wall_s        REAL,                      -- wall seconds the run took
  simulated_ns  INTEGER,                   -- simulated (or live) time span at the end
  events        INTEGER,                   -- discrete events processed (sim)
  summary_json  TEXT,                      -- the engine's result and configuration, when finished
  error         TEXT                       -- why it failed or was interrupted
);

CREATE TABLE requests (
  run_id           INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  request_id       INTEGER NOT NULL,
  arrival_ns       INTEGER NOT NULL,
  admitted_ns      INTEGER,
  first_token_ns   INTEGER,
  finished_ns      INTEGER,
  unique_tokens    INTEGER NOT NULL,
  requested_tokens INTEGER NOT NULL,
  output_tokens    INTEGER NOT NULL,
  status           TEXT    NOT NULL CHECK (status IN ('completed', 'rejected', 'failed', 'cancelled')),
  reason           TEXT,
  PRIMARY KEY (run_id, request_id)
) WITHOUT ROWID;

CREATE TABLE kernels (
  run_id    INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  seq       INTEGER NOT NULL,                -- order the sink received the batch in
  worker_id TEXT    NOT NULL,
  kind      TEXT    NOT NULL,
  chunk_id  INTEGER,
  queries   INTEGER NOT NULL,
  start_ns  INTEGER NOT NULL,
  end_ns    INTEGER NOT NULL,
  flops     REAL    NOT NULL,
  bytes     REAL    NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE tokens (
  run_id     INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  request_id INTEGER NOT NULL,
  idx        INTEGER NOT NULL,
  at_ns      INTEGER NOT NULL,
  PRIMARY KEY (run_id, request_id, idx)
) WITHOUT ROWID;
