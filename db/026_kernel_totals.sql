-- Trace level `totals` (issue 12): kernel batches summed per worker, kind and window of the run's
-- clock instead of one row per batch, so a long run (the hour-long Mooncake replay: ~7M batches)
-- keeps its utilization over time at a few thousand rows. A batch belongs to the window its end
-- falls in: window_ns = end_ns - end_ns % window size (the run's `traceWindowMs`, default 1000 ms).
-- Side table: no existing table, view or row changes.
CREATE TABLE kernel_totals (
  run_id       INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  worker_id    TEXT    NOT NULL,
  kind         TEXT    NOT NULL,
  window_ns    INTEGER NOT NULL,   -- start of the window
  window_len   INTEGER NOT NULL,   -- its length, ns
  batches      INTEGER NOT NULL,
  queries      INTEGER NOT NULL,   -- stacked query rows or requests, summed
  busy_ns      INTEGER NOT NULL,   -- sum of end_ns - start_ns (a batch is counted whole in its end's window)
  flops        REAL    NOT NULL,
  bytes        REAL    NOT NULL,
  gpu_ns       INTEGER,            -- live: summed GPU time of the batches that measured it, else NULL
  predicted_ns INTEGER,            -- live: summed cost-model price, else NULL
  PRIMARY KEY (run_id, worker_id, kind, window_ns)
) WITHOUT ROWID;
