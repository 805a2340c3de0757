-- `moska serve` keeps each HTTP request's `x-request-id` beside the engine's own request id, so a
-- client's logs and the trace join on it. A side table rather than a column of `requests`: only
-- served requests sent with the header have one, and `requests` (its `SELECT *` exports, the views)
-- stays exactly as sim and replay write it.
CREATE TABLE request_external_ids (
  run_id      INTEGER NOT NULL REFERENCES runs(run_id),
  request_id  INTEGER NOT NULL,
  external_id TEXT NOT NULL,
  PRIMARY KEY (run_id, request_id)
) WITHOUT ROWID;
CREATE INDEX request_external_ids_by_external ON request_external_ids (external_id);
