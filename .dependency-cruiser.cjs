/** Module boundaries of moska (see ../shared/design/ARCHITECTURE.md and each src/* README). */
const only = (from, allowed) => ({
  name: `${from}-imports-only-${allowed.join("-") || "nothing"}`,
  severity: "error",
  comment: `src/${from} may import only ${allowed.length ? allowed.map((a) => "src/" + a).join(", ") : "no other folder of ours"}`,
  from: { path: `^src/${from}/` },
  to: { path: "^src/", pathNot: [`^src/${from}/`, ...allowed.map((a) => `^src/${a}/`)] },
})
module.exports = {
  forbidden: [
    only("core", []),
    only("streams", ["core"]),
    only("actors", ["core", "streams"]),
    only("engine", ["core", "streams", "actors"]),
    only("sim", ["core", "streams", "actors", "engine"]),
    only("gpu", ["core"]),
    only("db", ["core"]),
    only("traces", ["core"]),
    only("report", ["core", "db"]),
    only("live", ["core", "streams", "actors", "engine", "gpu", "db"]),
    {
      name: "sim-no-drivers",
      severity: "error",
      comment: "sim and the mode-neutral graph never touch the SQLite driver, webgpu or Node timers",
      from: { path: "^src/(sim|engine|core|streams|actors)/" },
      to: { path: "node_modules/(better-sqlite3|webgpu)/|^(timers|node:timers)" },
    },
    { name: "no-circular", severity: "error", from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
  },
}
