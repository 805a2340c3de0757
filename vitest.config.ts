import { defineConfig } from "vitest/config"

// Tests run on TypeScript sources directly. Two cores here: keep the pool small and tests sized for lavapipe.
// The timeouts are generous because a fresh machine compiles every WGSL pipeline with a cold Mesa shader
// cache (minutes on lavapipe for the first run); they catch hangs, not slowness.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/globalSetup.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
})
