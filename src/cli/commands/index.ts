import type { Command } from "commander"
import { registerCalibrate } from "./calibrate.js"
import { registerCost } from "./cost.js"
import { registerScenario } from "./scenario.js"

/** Every command of the CLI; a command module exports one `register…(program)` function. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  registerScenario,
  registerCost,
  registerCalibrate,
]
