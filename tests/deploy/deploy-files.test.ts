import { readFile } from 'node:fs/promises';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

/**
 * No Docker engine or Kubernetes cluster runs here: the deployment files are checked as files —
 * the Dockerfile by a Dockerfile linter, compose and the manifests as YAML — for the facts the
 * README promises about them.
 */
const read = (path: string) => readFile(new URL(`../../${path}`, import.meta.url), 'utf8');

/** Every variable the configuration table in the README documents. */
async function documentedVariables(): Promise<Set<string>> {
  const readme = await read('README.md');
  return new Set([...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((match) => match[1]!));
}

describe('Dockerfile', () => {
  it('lints clean, builds in two stages on Node 24, runs as a non-root user, checks /healthz', async () => {
    const dockerfile = await read('Dockerfile');
    expect(validate(dockerfile)).toEqual([]);
    const from = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]);
    expect(from).toHaveLength(2);
    for (const image of from) expect(image).toMatch(/^node:24-/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK [\s\S]*\/healthz/m);
    expect(dockerfile).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev .*--strict-allow-scripts/);
    expect(dockerfile).toMatch(/^CMD \["node", "src\/main\.ts"\]$/m);
  });
});

describe('compose', () => {
  it('starts Postern after healthy PostgreSQL and Redis, with the master key as a secret file and time to drain', async () => {
    const compose = parse(await read('deploy/compose.yaml')) as {
      services: Record<string, { depends_on?: Record<string, { condition: string }>; environment?: Record<string, string>; stop_grace_period?: string; secrets?: string[]; healthcheck?: unknown }>;
      secrets: Record<string, { file: string }>;
    };
    const postern = compose.services.postern!;
    expect(postern.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    expect(compose.services.postgres!.healthcheck).toBeDefined();
    expect(compose.services.redis!.healthcheck).toBeDefined();
    expect(postern.environment).toMatchObject({ NODE_ENV: 'production', POSTERN_MASTER_KEY_FILE: '/run/secrets/master_key' });
    expect(postern.secrets).toEqual(['master_key']);
    expect(compose.secrets.master_key!.file).toBe('./secrets/master.key');
    // the default drain: POSTERN_SHUTDOWN_DELAY 3 s + POSTERN_SHUTDOWN_TIMEOUT 25 s
    expect(Number.parseInt(postern.stop_grace_period!, 10)).toBeGreaterThanOrEqual(28);
    const documented = await documentedVariables();
    for (const name of Object.keys(postern.environment!)) expect(documented, name).toContain(name);
  });
});

describe('Kubernetes', () => {
  it('probes /readyz and /healthz, gives the drain its time, runs unprivileged and reads secrets from a Secret', async () => {
    const kustomization = parse(await read('deploy/kubernetes/kustomization.yaml')) as { resources: string[] };
    const documents = (await Promise.all(kustomization.resources.map((file) => read(`deploy/kubernetes/${file}`)))).flatMap((text) => parseAllDocuments(text).map((document) => document.toJS() as { kind: string; data?: Record<string, string>; spec?: unknown }));
    const configMap = documents.find((document) => document.kind === 'ConfigMap')!;
    const deployment = documents.find((document) => document.kind === 'Deployment') as unknown as {
      spec: { template: { spec: { terminationGracePeriodSeconds: number; securityContext: { runAsNonRoot: boolean }; containers: Array<{ readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } }; envFrom: Array<{ secretRef?: { name: string }; configMapRef?: { name: string } }>; securityContext: { allowPrivilegeEscalation: boolean } }> } } };
    };
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    expect(container!.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container!.livenessProbe.httpGet.path).toBe('/healthz');
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container!.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(container!.envFrom).toEqual([{ configMapRef: { name: 'postern' } }, { secretRef: { name: 'postern' } }]);
    const drain = Number(configMap.data!.POSTERN_SHUTDOWN_DELAY) + Number(configMap.data!.POSTERN_SHUTDOWN_TIMEOUT);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(drain);
    const documented = await documentedVariables();
    const secret = parse(await read('deploy/kubernetes/secret.example.yaml')) as { stringData: Record<string, string> };
    for (const name of [...Object.keys(configMap.data!), ...Object.keys(secret.stringData)]) expect(documented, name).toContain(name);
    // the example Secret is not applied: nobody deploys its placeholders by accident
    expect(kustomization.resources).not.toContain('secret.example.yaml');
  });
});
