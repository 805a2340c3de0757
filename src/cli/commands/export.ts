import type { Command } from "commander"
import { closeSync, openSync, writeSync } from "node:fs"
// exportRun.js imports only types: its format and table lists cost nothing at start-up
import { EXPORT_FORMATS, EXPORT_TABLES, exportRun, type ExportFormat, type ExportTable } from "../../db/exportRun.js"

const FORMATS: readonly string[] = [...EXPORT_FORMATS, "parquet"]

/** Writes all of `s` to a file descriptor; a pipe that is full for a moment (EAGAIN) is retried. */
const writeAll = (fd: number, s: string): void => {
  const buf = Buffer.from(s)
  let off = 0
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e
    }
  }
}

/**
 * `moska export RUN --format csv|jsonl|parquet|perfetto [--table requests|kernels|kernel_totals|tokens] [--db FILE] [--out FILE]`:
 * one run's table as CSV, JSONL or Parquet, or its kernel timeline as Chrome trace-event JSON for
 * ui.perfetto.dev (one track per worker). Writes to stdout unless `--out` is given (Parquet, a
 * binary file, needs `--out`).
 * @example moska export 3 --format perfetto --out run3.trace.json
 */
export const registerExport = (program: Command): void => {
  program
    .command("export")
    .description("export a run's table as CSV, JSONL or Parquet, or its kernel timeline as Perfetto / Chrome trace-event JSON")
    .argument("<run>", "run id")
    .requiredOption("--format <format>", `output format: ${FORMATS.join(", ")}`)
    .option("--table <table>", `table for csv / jsonl / parquet (default requests): ${EXPORT_TABLES.join(", ")} (perfetto always draws kernels)`)
    .option("--db <file>", "trace database", "moska.db")
    .option("--out <file>", "file to write (default: stdout)")
    .action(async (runText: string, opts: { format: string; table?: string; db: string; out?: string }) => {
      // loaded here, not at start-up
      const [{ InputFileInvalid, UsageError }, { openTraceDb }, { runRecords }, { checkDbPath }, { readErrorText }] = await Promise.all([
        import("../../core/errors.js"), import("../../db/openTraceDb.js"), import("../../db/runRecords.js"), import("../checkDbPath.js"), import("../readErrorText.js"),
      ])
      if (!FORMATS.includes(opts.format)) throw new UsageError({ message: `--format must be one of ${FORMATS.join(", ")} (got "${opts.format}")` })
      const format = opts.format as ExportFormat | "parquet"
      if (format === "parquet" && opts.out === undefined) throw new UsageError({ message: "--format parquet writes a binary file: give --out FILE.parquet" })
      if (opts.table !== undefined && !(EXPORT_TABLES as readonly string[]).includes(opts.table)) {
        throw new UsageError({ message: `--table must be one of ${EXPORT_TABLES.join(", ")} (got "${opts.table}")` })
      }
      if (format === "perfetto" && opts.table !== undefined && opts.table !== "kernels") {
        throw new UsageError({ message: "--format perfetto draws the kernel timeline; leave out --table (or give --table kernels)" })
      }
      const table = (opts.table ?? (format === "perfetto" ? "kernels" : "requests")) as ExportTable
      if (!/^\d+$/.test(runText)) throw new UsageError({ message: `the run must be a run id (got "${runText}")` })
      checkDbPath(opts.db, { mustExist: true })
      const db = openTraceDb(opts.db, { readonly: true })
      let fd: number | undefined
      try {
        const runId = Number(runText)
        if (!runRecords.exists(db, runId)) throw new UsageError({ message: `no run ${runId} in ${opts.db} (see: moska query runs --db ${opts.db})` })
        if (opts.out !== undefined) {
          // opened here for every format, so an unwritable path is one line and exit 2 (Parquet then writes it through its own writer)
          try {
            fd = openSync(opts.out, "w")
          } catch (e) {
            throw new InputFileInvalid({ file: opts.out, message: `cannot write the export (${readErrorText(e)})` })
          }
        }
        const out = fd
        let n: number
        // Loaded only for Parquet: the writer is the heaviest module of the command.
        const parquet = format === "parquet" ? (await import("../../db/exportParquet.js")).exportParquet : undefined
        try {
          // stdout through its descriptor too: rows stream as they are read instead of queueing in the stream
          n = format === "parquet"
            ? (parquet as NonNullable<typeof parquet>)(db, runId, table, opts.out as string)
            : exportRun(db, runId, { format, table }, (s) => writeAll(out ?? 1, s))
        } catch (e) {
          // a reader that stopped early (`| head`) is not a failure of the export
          if ((e as NodeJS.ErrnoException).code === "EPIPE") return
          throw e
        }
        if (opts.out !== undefined) process.stderr.write(`run ${runId}: ${n} ${table} rows as ${format}: ${opts.out}\n`)
      } finally {
        if (fd !== undefined) closeSync(fd)
        db.close()
      }
    })
}
