import type { Command } from "commander"
import { registerAttention } from "./attention.js"
import { registerBench } from "./bench.js"
import { registerBenchServe } from "./benchServe.js"
import { registerCalibrate } from "./calibrate.js"
import { registerCost } from "./cost.js"
import { registerRepro } from "./repro.js"
import { registerScenario } from "./scenario.js"
import { registerSim } from "./sim.js"
import { registerLive } from "./live.js"
import { registerServe } from "./serve.js"
import { registerReplay } from "./replay.js"
import { registerQuery } from "./query.js"
import { registerReport } from "./report.js"
import { registerCompare } from "./compare.js"
import { registerSweep } from "./sweep.js"
import { registerExport } from "./export.js"
import { registerVersion } from "./version.js"
import { registerWorker } from "./worker.js"
import { registerBenchTransport } from "./benchTransport.js"

/** Every command of the CLI; a command module exports one `register…(program)` function. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  registerAttention,
  registerBench,
  registerBenchServe,
  registerScenario,
  registerSim,
  registerLive,
  registerServe,
  registerReplay,
  registerQuery,
  registerReport,
  registerCompare,
  registerSweep,
  registerExport,
  registerVersion,
  registerWorker,
  registerBenchTransport,
  registerCost,
  registerCalibrate,
  registerRepro,
]
