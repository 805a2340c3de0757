// Lint rules that carry the architecture: time and randomness only at the live and GPU edges.
import tseslint from "typescript-eslint"

const banned = {
  "no-restricted-properties": ["error",
    { object: "Date", property: "now", message: "Time comes from the injected Clock (src/core/clock.ts)." },
    { object: "performance", property: "now", message: "Time comes from the injected Clock (src/core/clock.ts)." },
    { object: "Math", property: "random", message: "Randomness comes from a split Rng (src/core/rng.ts)." },
  ],
  "no-restricted-globals": ["error",
    { name: "setTimeout", message: "Schedule on the injected Clock." },
    { name: "setInterval", message: "Schedule on the injected Clock." },
    { name: "setImmediate", message: "Schedule on the injected Clock." },
  ],
}

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".gpu/**", ".scratch/**", "bench/**/*.py"] },
  {
    files: ["src/**/*.ts", "test/**/*.ts"],
    languageOptions: { parser: tseslint.parser },
    plugins: { "@typescript-eslint": tseslint.plugin },
    rules: { ...banned, "no-var": "error", "prefer-const": "error" },
  },
  // The edges where wall-clock time and timers are the point: live serving, GPU timing, CLI progress and benches.
  {
    files: ["src/live/**/*.ts", "src/gpu/**/*.ts", "src/cli/**/*.ts", "src/bench/**/*.ts", "test/live/**/*.ts", "test/gpu/**/*.ts", "test/cli/**/*.ts"],
    rules: { "no-restricted-properties": "off", "no-restricted-globals": "off" },
  },
)
