/**
 * Fails calls to a storage tier at once while it is known to be unreachable, instead of letting
 * every request wait out its own timeout. After `cooldownMs` one call goes through as a probe;
 * its success closes the breaker, its failure keeps it open for another cooldown. So a tier that
 * comes back is used again within about one cooldown, without a restart.
 */
export class CircuitBreaker {
  readonly #cooldownMs: number;
  #openUntil = 0;
  #probing = false;

  constructor(cooldownMs = 1000) {
    this.#cooldownMs = cooldownMs;
  }

  get isOpen(): boolean {
    return this.#openUntil !== 0;
  }

  /** Whether a call may go ahead now; while half-open, only the one probe may. */
  allow(): boolean {
    if (this.#openUntil === 0) return true;
    if (Date.now() < this.#openUntil || this.#probing) return false;
    this.#probing = true;
    return true;
  }

  /** The tier answered (even with an error of its own): it is reachable. */
  succeeded(): void {
    this.#openUntil = 0;
    this.#probing = false;
  }

  /** The tier could not be reached. */
  failed(): void {
    this.#openUntil = Date.now() + this.#cooldownMs;
    this.#probing = false;
  }
}
