import { spawn } from 'node:child_process';
import { it } from 'vitest';
import { RedisKv } from '../src/store/kv/redis-kv.ts';
it('freeze', async () => {
  const port = 16399;
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  const kv = new RedisKv(`redis://127.0.0.1:${port}`, 'x:');
  await kv.connect();
  await kv.set('a', '1');
  redis.kill('SIGSTOP');
  const t0 = performance.now();
  const results = await Promise.allSettled(Array.from({ length: 20 }, async (_, i) => {
    const s = performance.now();
    try { await kv.increment('c' + i, 60); } catch (e) { }
    const mid = performance.now();
    try { await kv.get('b' + i); } catch (e) { }
    return [Math.round(mid - s), Math.round(performance.now() - s), (e => e)(0)];
  }));
  console.log(results.map((r) => JSON.stringify((r as PromiseFulfilledResult<unknown>).value)).join(' '));
  console.log('total', Math.round(performance.now() - t0));
  redis.kill('SIGCONT'); redis.kill('SIGKILL');
  await kv.close();
}, 30000);
