-- Live runs measure every kernel row on the GPU and keep the cost model's prediction for the same
-- work beside it, so each live run is also a kernel-level fidelity measurement. NULL in sim rows
-- (their duration is the prediction). Numbered 020 to leave room for the report migrations.
ALTER TABLE kernels ADD COLUMN gpu_ns INTEGER;
ALTER TABLE kernels ADD COLUMN predicted_ns INTEGER;
