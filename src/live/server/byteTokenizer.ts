/**
 * moska's byte-level tokenizer: a prompt's tokens are its UTF-8 bytes (ids 0..255, which every
 * vocabulary of a moska model holds: the tiny model's is exactly 256), so token counts are exact
 * and need no vocabulary file. Output ids decode back through a streaming UTF-8 decoder per
 * request, so a character split over two tokens comes out whole (the first chunk's text is empty,
 * as vLLM's incremental detokenizer does); ids ≥ 256 (a real vocabulary's merges) have no byte and
 * decode to U+FFFD.
 * @example
 * byteTokenizer.encode("hé") // [104, 195, 169]
 * const d = byteTokenizer.decoder(); d.push(195) + d.push(169) // "" + "é"
 */
export const byteTokenizer = {
  encode(text: string): number[] {
    return [...Buffer.from(text, "utf8")]
  },

  decoder(): { push(token: number): string; end(): string } {
    const utf8 = new TextDecoder("utf-8")
    const one = new Uint8Array(1)
    return {
      push(token: number): string {
        if (!Number.isInteger(token) || token < 0 || token > 255) return "\uFFFD"
        one[0] = token
        return utf8.decode(one, { stream: true })
      },
      end: () => utf8.decode(),
    }
  },
}
