/**
 * A token count from a trace field: a non-negative integer, written plainly or with a zero
 * fraction ("472" or "472.0", as pandas-exported CSVs do). Null otherwise.
 * @example parseCount("472.0") // 472
 */
export const parseCount = (text: string): number | null => {
  if (!/^\d+(\.0*)?$/.test(text)) return null
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : null
}
