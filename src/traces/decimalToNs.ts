/**
 * Exact conversion of a decimal string of seconds ("5", "12.25", "3.9799600") to integer ns.
 * Going through a float would round 100-ns Azure ticks differently on different rows; splitting the
 * integer and fractional digits keeps every timestamp exact. Returns null when `text` is not a
 * non-negative decimal. Digits past the ninth are rounded half up.
 * @example decimalSecondsToNs("3.9799600") // 3_979_960_000
 */
export const decimalSecondsToNs = (text: string): number | null => {
  const m = /^(\d+)(?:\.(\d*))?$/.exec(text)
  if (m === null) return null
  const whole = Number(m[1])
  const digits = m[2] ?? ""
  let frac = Number((digits.slice(0, 9)).padEnd(9, "0"))
  if (digits.length > 9 && Number(digits[9]) >= 5) frac += 1
  const out = whole * 1_000_000_000 + frac
  return Number.isSafeInteger(out) ? out : null
}
