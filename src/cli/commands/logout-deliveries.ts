import { parseArgs } from 'node:util';
import { DELIVERY_STATES, type DeliveryState } from '../../domain/logout-deliveries.ts';
import { COMMON_OPTIONS, parseOrUsage } from '../args.ts';
import type { Command, CommandGroup } from '../command.ts';
import { UsageError } from '../errors.ts';
import { withServices } from '../open-services.ts';
import { formatTable, timestamp, writeJson } from '../output.ts';

const list: Command = {
  summary: 'list Back-Channel Logout deliveries, newest first',
  usage: `Usage: postern logout-deliveries list [options]

Lists the logout notices queued for applications (OpenID Connect Back-Channel Logout), newest
first: pending ones with their attempts and when the next is due, delivered ones, and the ones
given up as failed with the last error. Counts per state are printed first.

Options:
  --state STATE      pending, delivered or failed
  --client ID        one application's deliveries
  --limit N          at most N rows (default 50, at most 1000)
  --json             print JSON instead of text
`,
  async run(args, { io }) {
    const { values } = parseOrUsage('logout-deliveries list', () =>
      parseArgs({
        args,
        strict: true,
        options: { ...COMMON_OPTIONS, state: { type: 'string' }, client: { type: 'string' }, limit: { type: 'string' } },
      }),
    );
    const state = values.state;
    if (state !== undefined && !DELIVERY_STATES.includes(state as DeliveryState)) {
      throw new UsageError(`logout-deliveries list: --state must be one of ${DELIVERY_STATES.join(', ')}, got "${state}"`);
    }
    if (values.limit !== undefined && !/^\d{1,4}$/.test(values.limit)) {
      throw new UsageError(`logout-deliveries list: --limit must be a whole number, got "${values.limit}"`);
    }
    const { counts, deliveries } = await withServices(async ({ logoutDeliveries }) => ({
      counts: await logoutDeliveries.counts(),
      deliveries: await logoutDeliveries.list({
        state: state as DeliveryState | undefined,
        clientId: values.client,
        limit: values.limit === undefined ? undefined : Number(values.limit),
      }),
    }));
    if (values.json) return writeJson(io.stdout, { counts, deliveries });
    io.stdout.write(`pending ${counts.pending}, delivered ${counts.delivered}, failed ${counts.failed}\n`);
    if (deliveries.length === 0) return void io.stdout.write('no deliveries\n');
    io.stdout.write(
      formatTable(
        ['ID', 'CREATED', 'CLIENT ID', 'SUBJECT', 'REASON', 'STATE', 'ATTEMPTS', 'NEXT ATTEMPT', 'LAST ERROR'],
        deliveries.map((d) => [
          d.id,
          timestamp(d.createdAt),
          d.clientId,
          d.sub,
          d.reason,
          d.state,
          String(d.attempts),
          d.nextAttemptAt ? timestamp(d.nextAttemptAt) : '-',
          d.lastError ?? '-',
        ]),
      ),
    );
  },
};

const retry: Command = {
  summary: 'try failed Back-Channel Logout deliveries again from the start',
  usage: `Usage: postern logout-deliveries retry (ID | --client CLIENT_ID | --all) [--json]

Starts failed deliveries again, from their first attempt and with the full retries ahead (for an
application that was down longer than the retries last). The running servers send them.
`,
  async run(args, { io }) {
    const { values, positionals } = parseOrUsage('logout-deliveries retry', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: { ...COMMON_OPTIONS, client: { type: 'string' }, all: { type: 'boolean' } } }),
    );
    const chosen = [positionals.length > 0, values.client !== undefined, values.all === true].filter(Boolean).length;
    if (chosen !== 1 || positionals.length > 1) throw new UsageError('logout-deliveries retry: give one delivery ID, --client CLIENT_ID or --all');
    const restarted = await withServices(async ({ logoutDeliveries, audit }) => {
      const count = await logoutDeliveries.retryFailed({ id: positionals[0], clientId: values.client });
      await audit.record({ type: 'logout.retried', clientId: values.client, details: { via: 'cli', deliveryId: positionals[0], count } });
      return count;
    });
    if (values.json) return writeJson(io.stdout, { restarted });
    io.stdout.write(`${restarted} failed ${restarted === 1 ? 'delivery' : 'deliveries'} queued again\n`);
  },
};

export const logoutDeliveryCommands: CommandGroup = {
  summary: 'logout notices to applications (Back-Channel Logout) and what became of them',
  commands: { list, retry },
};
