/** A growable set of small non-negative integers (user seq numbers): 1,000,000 users take 125 KB. */
export class BitSet {
  private bits = new Uint8Array(1024);

  has(n: number): boolean {
    const i = n >>> 3;
    return i < this.bits.length && (this.bits[i] & (1 << (n & 7))) !== 0;
  }

  /** The set as bytes: bit n is bit (n & 7) of byte n >> 3, least significant first (PostgreSQL's `get_bit` order). */
  bytes(): Uint8Array {
    return this.bits;
  }

  add(n: number): void {
    const i = n >>> 3;
    if (i >= this.bits.length) {
      let size = this.bits.length;
      while (size <= i) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.bits);
      this.bits = next;
    }
    this.bits[i] |= 1 << (n & 7);
  }
}
