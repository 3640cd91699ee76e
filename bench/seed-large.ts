/**
 * Grows a bench database to production-like size with set-based inserts (generate_series), in
 * batches, on one connection:
 *   - N accounts (unique username and email, all with the bench user's argon2id hash);
 *   - N RefreshToken rows in oidc_payloads, their jsonb payload copied from a real refresh token
 *     of the run (a new id, grantId and accountId each; like every stored token, without its value), unexpired.
 * Then ANALYZE, and prints one JSON line with timings and table sizes.
 *
 *   node bench/seed-large.ts <database-url> [N=1000000] [batch=100000]
 */
import knex from 'knex';

const [databaseUrl, countArg, batchArg] = process.argv.slice(2);
if (!databaseUrl) {
  process.stderr.write('usage: node bench/seed-large.ts <database-url> [count] [batch]\n');
  process.exit(2);
}
const count = Number(countArg ?? 1_000_000);
const batch = Number(batchArg ?? 100_000);
const db = knex({ client: 'pg', connection: databaseUrl, pool: { min: 1, max: 1 } });
const say = (line: string) => process.stderr.write(`seed-large: ${line}\n`);

// an opaque, base64url id like the engine's (43 characters)
const ID = (seed: string) => `rtrim(translate(encode(sha256(convert_to(${seed}, 'UTF8')), 'base64'), '+/', '-_'), '=')`;

const SYNTHETIC_PAYLOAD = {
  iat: 1_800_000_000, exp: 1_801_209_600, accountId: '', acr: 'urn:mace:incommon:iap:bronze', amr: ['pwd'], authTime: 1_800_000_000,
  claims: {}, clientId: 'bench', expiresWithSession: false, grantId: '', gty: 'authorization_code', iiat: 1_800_000_000,
  kind: 'RefreshToken', nonce: 'n', resource: 'https://api.bench.test', rotations: 0, scope: 'openid offline_access read',
  sessionUid: 's', sid: 's',
};

async function main() {
  const started = performance.now();
  await db.raw('set synchronous_commit = off');
  const bench = await db('accounts').where({ username: 'bench' }).first('password_hash');
  const hash: string | null = bench?.password_hash ?? null;
  const template = (await db('oidc_payloads').where({ model: 'RefreshToken' }).first('payload'))?.payload ?? SYNTHETIC_PAYLOAD;
  const existing = Number((await db('accounts').where('username', 'like', 'large%').count({ n: '*' }))[0]!.n);
  if (existing > 0) throw new Error(`this database already holds ${existing} large-seed accounts`);

  const accountsStarted = performance.now();
  for (let from = 1; from <= count; from += batch) {
    const to = Math.min(count, from + batch - 1);
    await db.raw(
      `insert into accounts (id, username, email, email_verified, name, password_hash)
       select md5('large-account-' || g)::uuid::text, 'large' || g, 'large' || g || '@large.bench.test', true, 'Large User ' || g, ?
       from generate_series(?::int, ?::int) g`,
      [hash, from, to],
    );
    say(`accounts ${to}/${count}`);
  }
  const accountsSeconds = (performance.now() - accountsStarted) / 1000;

  const tokensStarted = performance.now();
  for (let from = 1; from <= count; from += batch) {
    const to = Math.min(count, from + batch - 1);
    await db.raw(
      `insert into oidc_payloads (model, id, payload, grant_id, expires_at)
       select 'RefreshToken', t.id,
              ?::jsonb || jsonb_build_object('grantId', t.grant_id, 'accountId', t.account_id,
                                             'iat', extract(epoch from now())::int, 'exp', extract(epoch from now() + interval '14 days')::int),
              t.grant_id, now() + interval '14 days'
       from (select ${ID("'large-rt-' || g")} as id, ${ID("'large-grant-' || g")} as grant_id,
                    md5('large-account-' || g)::uuid::text as account_id
             from generate_series(?::int, ?::int) g) t`,
      [JSON.stringify(template), from, to],
    );
    say(`refresh tokens ${to}/${count}`);
  }
  const refreshSeconds = (performance.now() - tokensStarted) / 1000;
  await db.raw('analyze accounts');
  await db.raw('analyze oidc_payloads');
  const sizes = await db.raw(
    `select relname as table, pg_total_relation_size(oid) as bytes from pg_class where relname in ('accounts', 'oidc_payloads')`,
  );
  process.stdout.write(
    `${JSON.stringify({
      accounts: count,
      refreshTokens: count,
      accountsSeconds: Math.round(accountsSeconds * 10) / 10,
      refreshSeconds: Math.round(refreshSeconds * 10) / 10,
      seconds: Math.round(((performance.now() - started) / 1000) * 10) / 10,
      tableBytes: Object.fromEntries((sizes.rows as Array<{ table: string; bytes: string }>).map((r) => [r.table, Number(r.bytes)])),
    })}\n`,
  );
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`seed-large: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => db.destroy());
