import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { SpanKind } from '@opentelemetry/api';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../../src/metrics/tracing.ts';
import { availableBackends } from '../support/backends.ts';
import { seed, type Fixture } from '../support/relying-party.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const backend = availableBackends().at(-1)!;
const SRC = fileURLToPath(new URL('../../src', import.meta.url));

describe.skipIf(backend !== 'postgres+redis')('traces (OTEL_EXPORTER_OTLP_ENDPOINT) on postgres+redis', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let server: TestServer;
  let fixture: Fixture;

  beforeAll(async () => {
    tracing = startTracing({ serviceName: 'postern-test', processor: new SimpleSpanProcessor({ exporter }) });
    server = await startTestServer(backend);
    fixture = await seed(server);
  });
  afterAll(async () => {
    await server?.close();
    await tracing?.shutdown();
  });

  const serverSpan = (path: string): ReadableSpan | undefined =>
    exporter.getFinishedSpans().find((span) => span.kind === SpanKind.SERVER && span.attributes['url.path'] === path);

  /** Whether `span` sits below `ancestor` in its trace. */
  const under = (span: ReadableSpan, ancestor: ReadableSpan): boolean => {
    const byId = new Map(exporter.getFinishedSpans().map((entry) => [entry.spanContext().spanId, entry]));
    for (let parent = span.parentSpanContext?.spanId; parent !== undefined; parent = byId.get(parent)?.parentSpanContext?.spanId) {
      if (parent === ancestor.spanContext().spanId) return true;
    }
    return false;
  };

  it("records a token request's server span with its Redis and PostgreSQL calls below it", async () => {
    exporter.reset();
    // the client's first use after start: its registration is read from the database
    const response = await fetch(new URL('/token', server.url), {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${fixture.clientId}:${fixture.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read' }),
    });
    expect(response.status).toBe(200);
    const http = serverSpan('/token');
    expect(http, exporter.getFinishedSpans().map((span) => span.name).join(', ')).toBeDefined();
    expect(http!.attributes['http.response.status_code']).toBe(200);
    expect(http!.attributes['http.route']).toBe('token');
    expect(http!.name).toBe('POST token');
    const storage = exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.CLIENT && under(span, http!));
    const systems = new Set(storage.map((span) => String(span.attributes['db.system.name'] ?? span.attributes['db.system'])));
    expect(systems.has('redis') || systems.has('postgresql'), [...systems].join(', ')).toBe(true);
    for (const span of storage) expect(span.spanContext().traceId).toBe(http!.spanContext().traceId);
  });

  it('keeps query parameter names but not their values, and leaves the probes out', async () => {
    exporter.reset();
    await fetch(new URL(`/auth?client_id=${fixture.clientId}&login_hint=alice%40example.test&code_challenge=secret-value`, server.url), { redirect: 'manual' });
    await fetch(new URL('/readyz', server.url));
    const auth = serverSpan('/auth');
    expect(auth).toBeDefined();
    expect(auth!.attributes['url.query']).toBe('client_id=REDACTED&login_hint=REDACTED&code_challenge=REDACTED');
    expect(JSON.stringify(exporter.getFinishedSpans().map((span) => span.attributes))).not.toContain('alice');
    expect(serverSpan('/readyz')).toBeUndefined();
  });
});

describe('without an OTLP endpoint', () => {
  it('loads neither the tracing SDK nor prom-client: both are imported dynamically, from one module each', () => {
    const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
    const staticImports = (text: string) => [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)].map((match) => match[1]!);
    for (const file of files) {
      const text = readFileSync(join(SRC, file), 'utf8');
      const imports = staticImports(text);
      if (file !== join('metrics', 'tracing.ts')) expect(imports.filter((name) => name.startsWith('@opentelemetry/')), file).toEqual([]);
      if (file !== join('metrics', 'prometheus.ts')) expect(imports.filter((name) => name === 'prom-client'), file).toEqual([]);
      expect(imports.filter((name) => /\/(tracing|prometheus)\.ts$/.test(name)), file).toEqual([]);
    }
    expect(readFileSync(join(SRC, 'main.ts'), 'utf8')).toContain("await import('./metrics/tracing.ts')");
  });
});
