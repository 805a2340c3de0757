import { execFile } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { Command } from "commander"
import { beforeAll, describe, expect, it } from "vitest"
import { COMMANDS, commandsFor } from "../../src/cli/commands/index.js"
import { buildIfStale } from "./buildIfStale.js"

// The CLI loads only the invoked command's module (src/cli/main.ts); these check that no command
// got lost or changed on the way. Start-up time itself is a benchmark (src/bench/startup.ts).
const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const MAIN = join(ROOT, "dist/cli/main.js")
const run = promisify(execFile)

const moska = async (args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const r = await run(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof x.code === "number" ? x.code : -1, stdout: x.stdout ?? "", stderr: x.stderr ?? "" }
  }
}

/** The program with every command module registered, as before modules loaded lazily. */
const everyCommand = async (): Promise<Command> => {
  const program = new Command().name("moska")
  for (const register of await Promise.all(COMMANDS.map((c) => c.load()))) register(program)
  return program
}

/** Every command and subcommand path, e.g. ["sim"], ["bench", "serve"]. */
const paths = (c: Command, prefix: readonly string[] = []): string[][] =>
  c.commands.flatMap((sub) => [[...prefix, sub.name()], ...paths(sub, [...prefix, sub.name()])])

beforeAll(() => buildIfStale(ROOT), 300_000) // a no-op after test/globalSetup.ts built dist/

describe("commandsFor", () => {
  it("loads only the named command's modules, and the program option, for a known command", () => {
    expect(commandsFor(["sim", "scenarios/default.yaml", "--json"]).map((c) => c.name)).toEqual(["sim", "--version"])
    expect(commandsFor(["bench", "serve", "--url", "x"]).map((c) => c.name)).toEqual(["bench", "bench", "--version", "bench"])
    expect(commandsFor(["--version"]).map((c) => c.name)).toEqual(["--version"])
  })

  it("loads every module when no command is named: --help, help CMD, a typo to suggest a name for", () => {
    for (const args of [[], ["--help"], ["help", "sim"], ["simm"], ["-h"]]) expect(commandsFor(args)).toBe(COMMANDS)
  })
})

describe("moska's commands, each loaded when invoked", () => {
  it("COMMANDS loads every module of src/cli/commands", () => {
    const dir = join(ROOT, "src/cli/commands")
    const index = readFileSync(join(dir, "index.ts"), "utf8")
    const modules = readdirSync(dir).filter((f) => f.endsWith(".ts") && f !== "index.ts").map((f) => f.replace(/\.ts$/, ""))
    for (const m of modules) expect(index, m).toContain(`import("./${m}.js")`)
    expect(COMMANDS).toHaveLength(modules.length)
  })


  it("--help lists every command, the same lines as with every module registered", async () => {
    const program = await everyCommand()
    const r = await moska(["--help"])
    expect(r.code).toBe(0)
    const listed = r.stdout.slice(r.stdout.indexOf("Commands:"))
    const expected = program.helpInformation()
    for (const c of program.commands) expect(listed, c.name()).toMatch(new RegExp(`^  ${c.name()}\\b`, "m"))
    expect(listed).toBe(expected.slice(expected.indexOf("Commands:")))
  })

  it("CMD --help works for every command and subcommand and prints what the registered command says", async () => {
    const program = await everyCommand()
    const all = paths(program)
    expect(all.length).toBeGreaterThan(COMMANDS.length)
    const find = (path: readonly string[]): Command =>
      path.reduce((c, name) => c.commands.find((s) => s.name() === name) as Command, program)
    // four at a time: each is a process start on a busy machine
    for (let i = 0; i < all.length; i += 4) {
      await Promise.all(all.slice(i, i + 4).map(async (path) => {
        const r = await moska([...path, "--help"])
        expect(r.code, path.join(" ")).toBe(0)
        // helpInformation() leaves out text added after it (`query`'s list of named queries)
        const expected = find(path).helpInformation()
        expect(r.stdout.slice(0, expected.length), path.join(" ")).toBe(expected)
      }))
    }
  })
})
