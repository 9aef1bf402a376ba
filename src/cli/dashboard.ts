import { DEFAULT_PREFIX, defaultRedisUrl, REDIS_URL_ENV } from '../runtime/queue/connection.js';
import { SHARDS_ENV } from '../runtime/queue/layout.js';
import {
  ALLOWED_HOSTS_ENV,
  allowedHostsFrom,
  AUTH_ENV,
  credentialsFrom,
  DEFAULT_DASHBOARD_HOST,
  DEFAULT_DASHBOARD_PORT,
  METRICS_TOKEN_ENV,
  startDashboard,
  stopDashboard,
} from '../runtime/queue/dashboard.js';
import { defineCommand } from './command.js';
import { shardsFlag, shardsOf } from './shards-flag.js';
import { SUMMARIES } from './command-summaries.js';

export const dashboardCommand = defineCommand({
  spec: {
    name: 'dashboard',
    summary: SUMMARIES['dashboard'],
    positionals: [],
    flags: {
      redis: {
        type: 'string',
        value: 'url',
        description: `redis://[user:password@]host:port[/db], rediss:// (TLS) or redis+cluster://host:port,…; $${REDIS_URL_ENV} sets the default`,
        default: defaultRedisUrl(),
      },
      prefix: {
        type: 'string',
        value: 'p',
        description:
          'BullMQ key prefix ({name} on a Redis Cluster with one shard; with several, the base of the shards’ prefixes)',
        default: DEFAULT_PREFIX,
      },
      shards: {
        ...shardsFlag,
        description: `shards of the deployment: shows every shard's queues, as <shard prefix>:<queue> [default: $${SHARDS_ENV}, else 1]`,
      },
      host: {
        type: 'string',
        value: 'h',
        description: 'address to listen on',
        default: DEFAULT_DASHBOARD_HOST,
      },
      port: {
        type: 'int',
        description: 'port to listen on (0: a free one)',
        default: DEFAULT_DASHBOARD_PORT,
        min: 0,
        max: 65535,
      },
      auth: {
        type: 'string',
        value: 'user:password',
        description: `HTTP Basic credentials for every route [default: $${AUTH_ENV}]`,
      },
      'metrics-token': {
        type: 'string',
        value: 't',
        description: `bearer token that also opens /metrics [default: $${METRICS_TOKEN_ENV}]`,
      },
      'allowed-host': {
        type: 'strings',
        value: 'name',
        description: `a name (or name:port) the dashboard is reached by besides its address, e.g. a proxy's, accepted in Host and Origin [default: $${ALLOWED_HOSTS_ENV}, comma-separated]`,
      },
      'read-only': {
        type: 'string',
        value: 'bool',
        description: "refuse bull-board's actions (retry, add, clean, pause…) [default: true unless --auth]",
        choices: ['true', 'false'],
      },
    },
    examples: [
      'emoflow dashboard',
      'EMOFLOW_REDIS_URL=redis://:secret@queue-host:6379 emoflow dashboard --prefix {emoflow} --port 8080',
      'EMOFLOW_DASHBOARD_AUTH=ops:pass emoflow dashboard --host 0.0.0.0 --metrics-token scrape-token',
      'emoflow dashboard --read-only false   # loopback, no credentials: the buttons work',
      'emoflow dashboard --redis redis+cluster://10.0.0.5:7000,10.0.0.6:7000,10.0.0.7:7000 --shards 3',
    ],
  },
  async run({ flags }, io) {
    const credentials = credentialsFrom(
      { auth: flags.auth, metricsToken: flags['metrics-token'] },
      process.env,
    );
    const dashboard = await startDashboard({
      redisUrl: flags.redis,
      prefix: flags.prefix,
      shards: shardsOf(flags.shards),
      host: flags.host,
      port: flags.port,
      ...credentials,
      allowedHosts: allowedHostsFrom(flags['allowed-host'], process.env),
      readOnly: flags['read-only'] === undefined ? undefined : flags['read-only'] === 'true',
      onError: (e) => io.err(`warning: ${e.message.split('\n')[0]}\n`),
    });
    io.out(`dashboard on ${dashboard.url} (metrics at /metrics)\n`);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      const onSignal = (s: NodeJS.Signals): void => {
        // Removed at the first signal: a second one while closing exits at once (Node's default).
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve(s);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
    await stopDashboard(dashboard);
    io.err(`dashboard closed (${signal})\n`);
    return 0;
  },
});
