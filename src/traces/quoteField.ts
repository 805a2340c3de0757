/**
 * A field of a trace row as it appears in a message: JSON-quoted (control characters escaped, so a
 * message stays on one line) and cut to 60 characters.
 * @example quoteField("abc") // "\"abc\""
 */
export const quoteField = (text: string): string => JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text)
