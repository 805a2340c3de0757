import { defineConfig } from "vitest/config"

// Tests run on TypeScript sources directly. Two cores here: keep the pool small and tests sized for lavapipe.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
