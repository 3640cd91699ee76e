/**
 * A small seeded generator (sfc32) so that every fuzz case is a pure function of (seed, case
 * number): one case can be rebuilt alone from the two numbers a failure report prints.
 */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number, stream: number) {
    this.#a = seed >>> 0;
    this.#b = (stream * 0x9e3779b9) >>> 0;
    this.#c = 0x6a09e667 ^ stream;
    this.#d = 1;
    // warm up: the first outputs of sfc32 still show the seed
    for (let i = 0; i < 15; i += 1) this.next();
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + (this.next() % (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() / 0x1_0000_0000 < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.next() % items.length]!;
  }

  /** One of `choices`, each drawn with its weight. */
  weighted<T>(choices: ReadonlyArray<readonly [T, number]>): T {
    const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
    let roll = this.next() % total;
    for (const [value, weight] of choices) {
      if (roll < weight) return value;
      roll -= weight;
    }
    return choices.at(-1)![0];
  }

  /** `length` characters drawn from `alphabet`. */
  string(length: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'): string {
    let out = '';
    for (let i = 0; i < length; i += 1) out += alphabet[this.next() % alphabet.length];
    return out;
  }

  /** `length` arbitrary bytes as a latin1 string (one character per byte). */
  bytes(length: number): string {
    let out = '';
    for (let i = 0; i < length; i += 1) out += String.fromCharCode(this.next() & 0xff);
    return out;
  }
}
