-- Per-chunk facts of every moska run, fast mode included (issue 11): written once at the run's end
-- from counts the engine tallies, so "which chunks were hottest" and "how many rows per chunk GEMM"
-- are one query without `routingMode: exact` or kernel rows. Side tables: no existing table, view
-- or row changes. `basis` says where a chunk's numbers come from: 'counted' (trace routing, exact
-- mode) or 'expected' (a random law in fast mode, which draws per-chunk counts without chunk ids:
-- the law's expectation; gemms is NULL where a batch cap made it unknown).
CREATE TABLE chunk_stats (
  run_id   INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  chunk_id INTEGER NOT NULL,
  rows     REAL    NOT NULL,   -- query rows stacked on the chunk, summed over the run
  gemms    REAL,               -- chunk GEMMs (batches that attended it, more where a cap split one)
  basis    TEXT    NOT NULL CHECK (basis IN ('counted', 'expected')),
  PRIMARY KEY (run_id, chunk_id)
) WITHOUT ROWID;

-- GEMMs by stacked rows as priced (after any batch cap), exact for every routing law and mode.
CREATE TABLE chunk_gemm_sizes (
  run_id INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  rows   INTEGER NOT NULL,
  gemms  INTEGER NOT NULL,
  PRIMARY KEY (run_id, rows)
) WITHOUT ROWID;
