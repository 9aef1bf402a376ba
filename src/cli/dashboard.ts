import { EmoflowError } from '../core/errors.js';
import { DEFAULT_PREFIX, DEFAULT_REDIS_URL } from '../runtime/queue/connection.js';
import {
  AUTH_ENV,
  credentialsFrom,
  DEFAULT_DASHBOARD_HOST,
  DEFAULT_DASHBOARD_PORT,
  METRICS_TOKEN_ENV,
  startDashboard,
  stopDashboard,
} from '../runtime/queue/dashboard.js';
import { defineCommand } from './command.js';

export const dashboardCommand = defineCommand({
  spec: {
    name: 'dashboard',
    summary:
      'Serve bull-board over the text, image, audio and fuse queues, and Prometheus metrics at /metrics. ' +
      `Listens on ${DEFAULT_DASHBOARD_HOST} by default; any other host requires --auth or ${AUTH_ENV}.`,
    positionals: [],
    flags: {
      redis: {
        type: 'string',
        value: 'url',
        description: `redis:// or rediss:// URL, e.g. ${DEFAULT_REDIS_URL} (required)`,
      },
      prefix: { type: 'string', value: 'p', description: 'BullMQ key prefix', default: DEFAULT_PREFIX },
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
    },
    examples: [
      'emoflow dashboard --redis redis://127.0.0.1:6379',
      'emoflow dashboard --redis redis://:secret@queue-host:6379 --prefix {emoflow} --port 8080',
      'EMOFLOW_DASHBOARD_AUTH=ops:pass emoflow dashboard --redis redis://queue-host --host 0.0.0.0 --metrics-token scrape-token',
    ],
  },
  async run({ flags }, io) {
    if (flags.redis === undefined)
      throw new EmoflowError('CONFIG_INVALID', 'emoflow dashboard: --redis <url> is required');
    const credentials = credentialsFrom(
      { auth: flags.auth, metricsToken: flags['metrics-token'] },
      process.env,
    );
    const dashboard = await startDashboard({
      redisUrl: flags.redis,
      prefix: flags.prefix,
      host: flags.host,
      port: flags.port,
      ...credentials,
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
