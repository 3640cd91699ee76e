/**
 * OpenTelemetry traces: the HTTP server span of each request, with the PostgreSQL statements and
 * Redis commands made under it. Imported only when OTEL_EXPORTER_OTLP_ENDPOINT is set, before the
 * server starts; without it nothing here is loaded.
 */
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { context, propagation, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { notedRoute } from './index.ts';

export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP endpoint; spans go to `<endpoint>/v1/traces` */
  endpoint?: string | undefined;
  /** instead of the OTLP exporter (tests) */
  processor?: SpanProcessor;
}

export interface Tracing {
  /** sends what is still buffered, then stops tracing and removes the instrumentation */
  shutdown(): Promise<void>;
}

// probes and scrapes would only bury the requests worth reading
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

/** Query strings carry codes, hints and tokens: a span keeps the parameter names only. */
function redactQuery(span: Span, request: IncomingMessage): void {
  const url = request.url ?? '';
  const start = url.indexOf('?');
  if (start === -1) return;
  const names = [...new URLSearchParams(url.slice(start + 1)).keys()];
  span.setAttribute('url.query', names.map((name) => `${name}=REDACTED`).join('&'));
}

export function startTracing(options: TracingOptions): Tracing {
  if (!options.processor && !options.endpoint) throw new TypeError('startTracing needs an endpoint or a span processor');
  const processor = options.processor ?? new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${options.endpoint}/v1/traces` }) });
  const provider = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': options.serviceName }), spanProcessors: [processor] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  const unload = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED.has((request.url ?? '').split('?')[0]!),
        requestHook: (span, request) => {
          if ('headers' in request && 'httpVersion' in request) redactQuery(span, request as IncomingMessage);
        },
        // the server span is named for the normalized route, as the metrics label it
        applyCustomAttributesOnSpan: (span, request) => {
          const route = notedRoute(request);
          if (route === undefined || !('method' in request)) return;
          span.setAttribute('http.route', route);
          span.updateName(`${request.method} ${route}`);
        },
      }),
      // statements without their bindings (the default); Redis commands by name only: keys and values carry ids
      new PgInstrumentation(),
      new IORedisInstrumentation({ dbStatementSerializer: (command) => command }),
    ],
  });
  // the instrumentations patch a module when it is required; these may be loaded already (the
  // patches go on shared prototypes, so ESM importers see them too)
  const require = createRequire(import.meta.url);
  for (const name of ['node:http', 'pg', 'ioredis']) require(name);
  return {
    async shutdown() {
      unload();
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
