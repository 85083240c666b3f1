/** A growable set of small non-negative integers (user seq numbers): 1,000,000 users take 125 KB. */
export class BitSet {
  private bits = new Uint8Array(1024);

  has(n: number): boolean {
    const i = n >>> 3;
    return i < this.bits.length && (this.bits[i] & (1 << (n & 7))) !== 0;
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
