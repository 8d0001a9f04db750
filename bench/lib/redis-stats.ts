import { Redis } from 'ioredis';

export interface RedisCounts {
  /** Commands clients sent (top level: a script call is one). */
  readonly commands: number;
  /** Script calls (EVAL, EVALSHA, FCALL): each runs many commands inside Redis. */
  readonly scripts: number;
}

/** Command counters of a Redis server, from INFO (the INFO call itself counts one). */
export async function redisCounts(url: string): Promise<RedisCounts> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const stats = await client.info('stats');
    const commandstats = await client.info('commandstats');
    const commands = Number(/^total_commands_processed:(\d+)/m.exec(stats)?.[1] ?? Number.NaN);
    let scripts = 0;
    for (const match of commandstats.matchAll(/^cmdstat_(eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro):calls=(\d+)/gm)) scripts += Number(match[2]);
    return { commands, scripts };
  } finally {
    client.disconnect();
  }
}

/** What Redis executed between two readings, less the two INFO calls of the readings themselves that fall in between (the first's commandstats, the second's stats). */
export function countsBetween(before: RedisCounts, after: RedisCounts): RedisCounts {
  return { commands: after.commands - before.commands - 2, scripts: after.scripts - before.scripts };
}
