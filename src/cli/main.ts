#!/usr/bin/env node
/**
 * The `moska` command: the composition root that wires the actor graph for a mode. Each command
 * lives in `commands/<name>.ts` and registers itself on the program; only the invoked command's
 * module is loaded, and each loads its heavy modules when its action runs (start-up time).
 */
import { Command, CommanderError } from "commander"
import { exitCodeOf, messageOf } from "./exit.js"
import { commandsFor } from "./commands/index.js"

// No top-level await: the bundled CLI (scripts/bundle.mjs) is CommonJS, which starts faster than an ES module.
const main = async (): Promise<void> => {
  const program = new Command()
    .name("moska")
    .description("Mixture of Shared KV Attention: simulator (sim) and WebGPU engine (live) on one actor graph")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()

  for (const register of await Promise.all(commandsFor(process.argv.slice(2)).map((c) => c.load()))) register(program)

  try {
    await program.parseAsync(process.argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message; usage errors exit 2, --help/--version exit 0
      process.exitCode = err.exitCode === 0 ? 0 : 2
    } else {
      process.stderr.write(`${messageOf(err).replace(/^/gm, "moska: ")}\n`)
      process.exitCode = exitCodeOf(err)
    }
  }
}

// a failure to load a command module rejects here and Node reports it, as it did a rejected top-level await
void main()
