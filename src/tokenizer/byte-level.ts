/**
 * GPT-2's byte-level alphabet: every byte 0..255 is shown as one printable Unicode character so that
 * BPE tokens over raw UTF-8 bytes can be stored as JSON strings. Printable Latin-1 bytes stand for
 * themselves; the other 68 bytes (controls, space, NBSP, soft hyphen) map to U+0100 onwards in byte
 * order, e.g. byte 0x20 (space) → 'Ġ' (U+0120), byte 0x0A (newline) → 'Ċ' (U+010A).
 */

function isPrintableLatin1(b: number): boolean {
  return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

/** `BYTE_TO_CHAR[b]` is the character that stands for byte `b`. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const table: string[] = new Array<string>(256);
  let next = 0x100;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(isPrintableLatin1(b) ? b : next++);
  return table;
})();

/**
 * The 256 symbols in the order Qwen2 and GPT-2 give them ids 0..255: by code point, so '!' is 0
 * and 'Ġ' (space) is 220.
 */
export const BYTE_LEVEL_ALPHABET: readonly string[] = [...BYTE_TO_CHAR].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));
