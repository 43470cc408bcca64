/**
 * A 32-bit string hash that is the same on every machine and Node version, so that seeds and split
 * membership derived from text never change under a user's feet.
 *
 *   fnv1a32('a') === 0x1a80b1b3  (FNV-1a gives 0xe40c292c; the murmur3 finaliser then spreads nearby strings)
 */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  // FNV-1a alone leaves short strings that differ in their last byte close together mod small n.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
