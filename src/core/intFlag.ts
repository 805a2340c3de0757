import { UsageError } from "./errors.js"

/**
 * A command-line flag's value as an integer in [min, max], or a one-line UsageError naming the flag
 * and the range: the check every integer option of the CLI shares.
 * @example intFlag("--port", "8000", 0, 65_535) // 8000
 */
export const intFlag = (name: string, value: string, min: number, max: number): number => {
  const n = Number(value)
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError({ message: `${name} must be an integer from ${min} to ${max} (got "${value}")` })
  }
  return n
}
