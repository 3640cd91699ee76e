/** Latency samples (milliseconds) in a growable typed array, and their percentiles. */
export class Samples {
  #values = new Float64Array(1 << 14);
  #length = 0;

  add(value: number) {
    if (this.#length === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#length] = value;
    this.#length += 1;
  }

  get count() {
    return this.#length;
  }

  summary(): { p50: number; p90: number; p99: number; max: number; mean: number } {
    if (this.#length === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
    const sorted = this.#values.slice(0, this.#length).sort();
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
    let total = 0;
    for (const value of sorted) total += value;
    const round = (value: number) => Math.round(value * 100) / 100;
    return { p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]!), mean: round(total / sorted.length) };
  }
}
