import { generate } from 'otplib';

export class Authenticator {
  readonly secret: string;
  #lastStep = -Infinity;

  constructor(secret: string) {
    this.secret = secret;
  }

  /** The next code, from now on counted as used. */
  async code(): Promise<string> {
    for (;;) {
      const now = Date.now() / 1000;
      const current = Math.floor(now / 30);
      // the step before the current one only while the server cannot have moved past it
      const oldest = now - current * 30 < 25 ? current - 1 : current;
      const step = Math.max(this.#lastStep + 1, oldest);
      if (step <= current + 1) {
        this.#lastStep = step;
        return generate({ secret: this.secret, epoch: step * 30 });
      }
      await new Promise((resolve) => setTimeout(resolve, (current + 1) * 30_000 - Date.now() + 100));
    }
  }

  /** A right code for a request that is refused before its code is looked at; not counted as used. */
  peek(): Promise<string> {
    return generate({ secret: this.secret, epoch: Math.floor(Date.now() / 1000) });
  }
}
