/** One sample line of the Prometheus text exposition format. */
export interface PromSample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

/**
 * Parses the Prometheus text format (version 0.0.4): `# HELP`/`# TYPE` comments,
 * samples `name{label="value",…} value [timestamp]`, label values with `\\`, `\"`
 * and `\n` escapes, and the special values NaN, +Inf and -Inf. Throws on a line it
 * cannot read, so a malformed exposition fails the test that scraped it.
 */
export function parsePrometheusText(text: string): { samples: PromSample[]; types: Map<string, string> } {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const typeMatch = /^#\s*TYPE\s+(\S+)\s+(\S+)$/.exec(line);
      if (typeMatch) types.set(typeMatch[1] as string, typeMatch[2] as string);
      continue;
    }
    samples.push(parseSample(line, index + 1));
  }
  return { samples, types };
}

function parseSample(line: string, lineNumber: number): PromSample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new Error(`line ${lineNumber}: no metric name in ${JSON.stringify(line)}`);
  const name = nameMatch[0];
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at += 1;
    for (;;) {
      while (line[at] === ' ' || line[at] === ',') at += 1;
      if (line[at] === '}') {
        at += 1;
        break;
      }
      const labelMatch = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(line.slice(at));
      if (!labelMatch) throw new Error(`line ${lineNumber}: bad label at column ${at} in ${JSON.stringify(line)}`);
      at += labelMatch[0].length;
      let value = '';
      for (;;) {
        const char = line[at];
        if (char === undefined) throw new Error(`line ${lineNumber}: unterminated label value in ${JSON.stringify(line)}`);
        at += 1;
        if (char === '"') break;
        if (char === '\\') {
          const escaped = line[at];
          at += 1;
          value += escaped === 'n' ? '\n' : (escaped ?? '');
        } else {
          value += char;
        }
      }
      labels[labelMatch[1] as string] = value;
    }
  }
  const rest = line.slice(at).trim().split(/\s+/);
  const valueText = rest[0];
  if (valueText === undefined || valueText === '' || rest.length > 2) throw new Error(`line ${lineNumber}: bad value in ${JSON.stringify(line)}`);
  const value = parseValue(valueText);
  if (value === undefined) throw new Error(`line ${lineNumber}: value ${JSON.stringify(valueText)} is not a number`);
  return { name, labels, value };
}

function parseValue(text: string): number | undefined {
  // prom-client writes NaN as `Nan` (an event-loop lag gauge with no sample since the last
  // scrape); Prometheus reads NaN in any case, so this parser does too.
  if (/^nan$/i.test(text)) return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

/** One scrape of a `/metrics` endpoint, with lookups by name and label subset. */
export class PromScrape {
  constructor(
    readonly samples: readonly PromSample[],
    readonly types: ReadonlyMap<string, string>,
  ) {}

  static parse(text: string): PromScrape {
    const { samples, types } = parsePrometheusText(text);
    return new PromScrape(samples, types);
  }

  /** Samples named `name` whose labels include every pair of `labels`. */
  matching(name: string, labels: Record<string, string> = {}): PromSample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  has(name: string, labels: Record<string, string> = {}): boolean {
    return this.matching(name, labels).length > 0;
  }

  /** The sum over the matching samples; 0 when none match (a labelled series not yet created). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.matching(name, labels).reduce((sum, s) => sum + s.value, 0);
  }
}

/** GETs `http://127.0.0.1:{port}/metrics` and parses it; throws unless the answer is 200 text. */
export async function scrapeMetrics(port: number): Promise<PromScrape> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}: ${text.slice(0, 200)}`);
  if (!(res.headers.get('content-type') ?? '').startsWith('text/plain')) throw new Error(`GET /metrics content-type ${res.headers.get('content-type')}`);
  return PromScrape.parse(text);
}
