/**
 * Hardware limits measured in the same run as the scenarios, printed as one JSON line:
 * - RS256 signatures per second on one core (crypto.sign over a JWT-sized input, tight loop, ~2 s);
 * - argon2id verifications per second with m=19456, t=2, p=1, many in flight on libuv's default
 *   thread pool (~3 s): the ceiling for password logins on this machine.
 *
 *   node bench/hardware.ts [signSeconds] [argon2Seconds]
 */
import argon2 from 'argon2';
import { generateKeyPairSync, sign } from 'node:crypto';
import { availableParallelism, cpus } from 'node:os';

const signSeconds = Number(process.argv[2] ?? 2);
const argonSeconds = Number(process.argv[3] ?? 3);

function rs256SignsPerSecond(): number {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: 'k'.repeat(43) })).toString('base64url');
  const payload = Buffer.from(
    JSON.stringify({
      jti: 'j'.repeat(43), sub: '00000000-0000-4000-8000-000000000001', iat: 1_800_000_000, exp: 1_800_003_600,
      scope: 'read', client_id: 'c'.repeat(22), iss: 'http://127.0.0.1:40000', aud: 'https://api.bench.test',
    }),
  ).toString('base64url');
  const input = Buffer.from(`${header}.${payload}`);
  for (let i = 0; i < 50; i += 1) sign('sha256', input, privateKey); // warm up
  let count = 0;
  const started = performance.now();
  const until = started + signSeconds * 1000;
  while (performance.now() < until) {
    sign('sha256', input, privateKey);
    count += 1;
  }
  return count / ((performance.now() - started) / 1000);
}

async function argon2VerifiesPerSecond(): Promise<{ rate: number; inFlight: number; meanMs: number }> {
  const options = { type: argon2.argon2id as 2, memoryCost: 19456, timeCost: 2, parallelism: 1 };
  const hash = await argon2.hash('correct horse battery staple', options);
  const inFlight = 8;
  let count = 0;
  let totalMs = 0;
  const started = performance.now();
  const until = started + argonSeconds * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        if (!(await argon2.verify(hash, 'correct horse battery staple'))) throw new Error('argon2 verify failed');
        totalMs += performance.now() - t0;
        count += 1;
      }
    }),
  );
  return { rate: count / ((performance.now() - started) / 1000), inFlight, meanMs: totalMs / count };
}

const rs256 = rs256SignsPerSecond();
const argon = await argon2VerifiesPerSecond();
process.stdout.write(
  `${JSON.stringify({
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
    rs256SignsPerSecondOneCore: Math.round(rs256),
    argon2idVerifiesPerSecond: Math.round(argon.rate * 10) / 10,
    argon2idInFlight: argon.inFlight,
    argon2idMeanMs: Math.round(argon.meanMs * 10) / 10,
  })}\n`,
);
