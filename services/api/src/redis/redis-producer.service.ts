import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { FlowProducer, Queue } from 'bullmq';
import Redis from 'ioredis';
import { ALL_QUEUES, QueueName } from '@cityflow/contracts';
import { APP_CONFIG, AppConfig, LOGGER, Logger, producerConnection } from '@cityflow/common';

/** Reject after `ms` so that no request waits on Redis longer than that. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer from Redis within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The api's one Redis connection, shared by its queues, its flow producer and Bull Board. It is a
 * producer connection (no blocking commands, no worker): the offline queue is off, so while Redis
 * is down a command fails at once and the request answers 503 instead of hanging. BullMQ waits
 * for `ready` before its first command on a connection, so callers check `isUp()` first.
 */
@Injectable()
export class RedisProducer implements OnApplicationShutdown {
  readonly client: Redis;
  private readonly queues = new Map<QueueName, Queue>();
  private flows?: FlowProducer;
  private downSince: number | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.client = new Redis({
      ...producerConnection(config.redisUrl),
      // Reconnect quickly and forever: the api must notice Redis coming back without a restart.
      retryStrategy: (attempt) => Math.min(attempt * 250, 2000),
      // A socket that never connected is not held open for ioredis' default 2 s at shutdown.
      disconnectTimeout: 200,
    });
    // Log a down period once, not once per reconnect attempt.
    this.client.on('error', (err) => {
      if (this.downSince === null) {
        this.downSince = Date.now();
        this.log.warn({ err: { message: err.message } }, 'redis unreachable; queue routes answer 503');
      }
    });
    this.client.on('ready', () => {
      if (this.downSince !== null) this.log.info({ downMs: Date.now() - this.downSince }, 'redis reachable again');
      this.downSince = null;
    });
  }

  /** True when the connection is established (commands will not wait). */
  isUp(): boolean {
    return this.client.status === 'ready';
  }

  /** PING with a deadline: what `/health` and `/ready` report. */
  async ping(timeoutMs = 1000): Promise<boolean> {
    if (!this.isUp()) return false;
    try {
      return (await withTimeout(this.client.ping(), timeoutMs, 'ping')) === 'PONG';
    } catch {
      return false;
    }
  }

  queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.client, prefix: this.config.queuePrefix });
      // Without a listener, an 'error' event would be thrown and take the process down.
      q.on('error', (err) => this.log.debug({ err: { message: err.message }, queue: name }, 'queue error'));
      this.queues.set(name, q);
    }
    return q;
  }

  /** Every pipeline queue (for Bull Board). */
  allQueues(): Queue[] {
    return ALL_QUEUES.map((name) => this.queue(name));
  }

  flowProducer(): FlowProducer {
    if (!this.flows) {
      this.flows = new FlowProducer({ connection: this.client, prefix: this.config.queuePrefix });
      this.flows.on('error', (err) => this.log.debug({ err: { message: err.message } }, 'flow producer error'));
    }
    return this.flows;
  }

  async onApplicationShutdown(): Promise<void> {
    // The connection is shared (passed as an instance), so closing a queue leaves it open: close it last.
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    if (this.flows) await this.flows.close().catch(() => undefined);
    this.queues.clear();
    this.flows = undefined;
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }
}
