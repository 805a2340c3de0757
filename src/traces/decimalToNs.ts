/**
 * Exact conversion of a decimal string of seconds ("5", "12.25", "3.9799600") to integer ns.
 * Going through a float would round 100-ns Azure ticks differently on different rows; splitting the
 * integer and fractional digits keeps every timestamp exact. Returns null when `text` is not a
 * non-negative decimal. Digits past the ninth are rounded half up.
 * @example decimalSecondsToNs("3.9799600") // 3_979_960_000
 */
export const decimalSecondsToNs = (text: string, originS = 0): number | null => {
  const parts = decimalSecondsParts(text)
  if (parts === null) return null
  const out = (parts.wholeS - originS) * 1_000_000_000 + parts.fracNs
  return Number.isSafeInteger(out) ? out : null
}

/**
 * The whole seconds and the fraction in ns of a non-negative decimal, each exact; null when `text`
 * is not one or its whole part is not a safe integer. With an origin taken from the first row,
 * `decimalSecondsToNs(text, originS)` reads timestamps far past 2^53 ns (day 104) exactly, as
 * long as the rows themselves lie within 2^53 ns of each other.
 * @example decimalSecondsParts("10368000.25") // { wholeS: 10368000, fracNs: 250000000 }
 */
export const decimalSecondsParts = (text: string): { readonly wholeS: number; readonly fracNs: number } | null => {
  const m = /^(\d+)(?:\.(\d*))?$/.exec(text)
  if (m === null) return null
  const wholeS = Number(m[1])
  if (!Number.isSafeInteger(wholeS)) return null
  const digits = m[2] ?? ""
  let fracNs = Number((digits.slice(0, 9)).padEnd(9, "0"))
  if (digits.length > 9 && Number(digits[9]) >= 5) fracNs += 1
  return { wholeS, fracNs }
}
