import type { Command } from "commander"

/** Every command of the CLI; a command module exports one `register…(program)` function. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = []
