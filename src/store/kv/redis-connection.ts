import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisConnection, RedisNode } from '../../config.ts';

/** A connection to the ephemeral tier: one server (also one found through Sentinels) or a Cluster. */
export type RedisClient = Redis | Cluster;

export interface ClientSettings {
  /** ms connecting may take */
  connectTimeoutMs: number;
  /** ms after which ioredis fails a command that got no answer */
  commandTimeoutMs: number;
  /** prefix ioredis puts before every key (not before channels) */
  keyPrefix?: string;
  enableAutoPipelining?: boolean;
  /** the connection's name in CLIENT LIST */
  connectionName?: string;
}

/** Reconnects at most a second apart, for as long as it takes. */
const reconnectDelay = (attempt: number) => Math.min(100 * attempt, 1000);

/** Attempts on one Cluster node before a subscriber moves to the next. */
const SUBSCRIBER_ATTEMPTS_PER_NODE = 2;

function serverOptions(settings: ClientSettings): RedisOptions {
  return {
    lazyConnect: true,
    // fail fast: a command while disconnected fails at once instead of waiting in a queue
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: settings.commandTimeoutMs,
    connectTimeout: settings.connectTimeoutMs,
    ...(settings.connectionName ? { connectionName: settings.connectionName.replace(/[^\x21-\x7e]/g, '_') } : {}),
  };
}

function sentinelOptions(connection: Extract<RedisConnection, { mode: 'sentinel' }>): RedisOptions {
  return {
    sentinels: connection.sentinels,
    name: connection.name,
    db: connection.db,
    username: connection.username,
    password: connection.password,
    sentinelUsername: connection.sentinelUsername,
    sentinelPassword: connection.sentinelPassword,
    ...(connection.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    // told of a failover by the Sentinels at once, not when the old master stops answering
    failoverDetector: true,
  };
}

/** The connection that runs commands: keys prefixed, optionally auto-pipelined. */
export function openCommandClient(connection: RedisConnection, settings: ClientSettings): RedisClient {
  const shared: RedisOptions = { ...serverOptions(settings), keyPrefix: settings.keyPrefix, enableAutoPipelining: settings.enableAutoPipelining };
  if (connection.mode === 'standalone') return new Redis(connection.url, { ...shared, retryStrategy: reconnectDelay });
  if (connection.mode === 'sentinel') return new Redis({ ...shared, ...sentinelOptions(connection), retryStrategy: reconnectDelay });
  const { lazyConnect, enableOfflineQueue, keyPrefix, enableAutoPipelining, ...perNode } = shared;
  return new Cluster(connection.nodes, {
    lazyConnect,
    enableOfflineQueue,
    keyPrefix,
    enableAutoPipelining,
    clusterRetryStrategy: reconnectDelay,
    slotsRefreshTimeout: settings.connectTimeoutMs,
    redisOptions: {
      ...perNode,
      username: connection.username,
      password: connection.password,
      ...(connection.tls ? { tls: {} } : {}),
    },
    // with TLS, connect by the names the certificates carry, not by resolved addresses
    ...(connection.tls ? { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) } : {}),
  });
}

/**
 * Opens a connection for subscribing, each call a new one. Channels are not re-subscribed by
 * ioredis (the subscriber does it, to know when it is done). On a Cluster, where PUBLISH reaches
 * every node, it is a plain connection to one node; a node that stays unreachable for a few
 * attempts ends the connection, and the next call tries the next node the commands connection
 * knows of (or the next one in REDIS_URL).
 */
export function subscriberConnector(connection: RedisConnection, settings: ClientSettings, commands?: RedisClient): () => Redis {
  const options: RedisOptions = { ...serverOptions(settings), autoResubscribe: false };
  if (connection.mode === 'standalone') return () => new Redis(connection.url, { ...options, retryStrategy: reconnectDelay });
  if (connection.mode === 'sentinel') return () => new Redis({ ...options, ...sentinelOptions(connection), retryStrategy: reconnectDelay });
  let next = 0;
  return () => {
    const nodes = knownNodes(connection.nodes, commands);
    const node = nodes[next++ % nodes.length]!;
    return new Redis({
      ...options,
      host: node.host,
      port: node.port,
      username: connection.username,
      password: connection.password,
      ...(connection.tls ? { tls: {} } : {}),
      retryStrategy: (attempt) => (attempt > SUBSCRIBER_ATTEMPTS_PER_NODE ? null : reconnectDelay(attempt)),
    });
  };
}

function knownNodes(seeds: RedisNode[], commands: RedisClient | undefined): RedisNode[] {
  const discovered = commands instanceof Cluster ? commands.nodes('all').map((node) => ({ host: node.options.host ?? '', port: node.options.port ?? 6379 })) : [];
  const unique = new Map<string, RedisNode>();
  for (const node of [...discovered, ...seeds]) if (node.host) unique.set(`${node.host}:${node.port}`, node);
  return [...unique.values()];
}
