import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { HeraldError } from '../errors.js';
import { appEnv, envBindings, parseEnvValue } from './env.js';
import { DEMO_APP, configSchema } from './schema.js';
import type { ApnsConfig, RawConfig } from './schema.js';
import { NAME_LIKE_KEY, formatPath, formatSecretFilePath } from '../lib/format-path.js';
import type { FcmConfig } from './fcm-schema.js';
import { resolveServiceAccount } from './service-account.js';
import type { ServiceAccount } from './service-account.js';

type RawApp = NonNullable<RawConfig['apps']>[number];

export type AppApnsConfig = Omit<ApnsConfig, 'passphraseFile'>;

/** The key's source is resolved at load: the provider gets the checked key, never a path. */
export type AppFcmConfig = Omit<FcmConfig, 'serviceAccountFile' | 'serviceAccountJson' | 'serviceAccountEnv'> & { readonly serviceAccount: ServiceAccount };

export interface AppConfig extends Omit<RawApp, 'secretFile' | 'secret' | 'apns' | 'fcm'> {
  readonly secret: string;
  readonly apns?: AppApnsConfig;
  readonly fcm?: AppFcmConfig;
}

export interface HeraldConfig extends Omit<RawConfig, 'apps'> {
  readonly apps: readonly AppConfig[];
  /** True when no config file, env app or apps[] was given: the embedded demo app is in use. */
  readonly demo: boolean;
  /** Where the configuration came from, for messages: a file path or "defaults". */
  readonly source: string;
}

export interface LoadOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

type Json = Record<string, unknown>;

/** Loads file → env overrides → secret files, validates once, and returns a deep-frozen config. */
export function loadConfig(options: LoadOptions = {}): HeraldConfig {
  return loadConfigWithOrigins(options).config;
}

export interface LoadedConfig {
  config: HeraldConfig;
  /**
   * Where each leaf value came from, by path (`server.port`, `apps[0].secret`): `default`,
   * `file /abs/path`, `env HERALD_X` (or `env HERALD_X_FILE`) or `secret file /path`.
   * Lists of scalars are one leaf. For `herald config`; never holds a value.
   */
  origins: ReadonlyMap<string, string>;
}

export function loadConfigWithOrigins(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.HERALD_CONFIG;
  const sources = new Map<string, string>();
  const fileLabel = file ? `file ${resolve(file)}` : 'defaults';
  const raw: Json = file ? readConfigFile(file) : {};
  const inFile = new Set(leafPaths(raw).map(([path]) => path));

  const problems: string[] = [];
  applyEnv(raw, env, sources, problems);
  if (problems.length > 0) throw invalid(problems);

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw invalid(parsed.error.issues.map((issue) => describeIssue(issue, raw, sources, fileLabel)));
  }
  const demo = parsed.data.apps === undefined;
  const apps = (parsed.data.apps ?? [defaultDemoApp()]).map((app, index) => resolveAppSecrets(app, index, problems, fileLabel, env));
  if (problems.length > 0) throw invalid(problems);

  const config = deepFreeze({ ...parsed.data, apps, demo, source: file ? resolve(file) : 'defaults' });
  return { config, origins: originsOf(config, parsed.data.apps, inFile, sources, fileLabel) };
}

function originsOf(config: HeraldConfig, rawApps: RawConfig['apps'], inFile: ReadonlySet<string>, sources: ReadonlyMap<string, string>, fileLabel: string): Map<string, string> {
  const secretFiles = new Map<string, string>();
  (rawApps ?? []).forEach((app, index) => {
    if (app.secretFile !== undefined) secretFiles.set(`apps[${index}].secret`, `secret file ${app.secretFile}`);
    if (app.apns?.passphraseFile !== undefined) secretFiles.set(`apps[${index}].apns.passphrase`, `secret file ${app.apns.passphraseFile}`);
  });
  const origins = new Map<string, string>();
  const { demo: _demo, source: _source, ...values } = config;
  for (const [path] of leafPaths(values)) {
    let origin = secretFiles.get(path) ?? (inFile.has(path) ? fileLabel : config.demo && path.startsWith('apps[') ? 'default (demo app)' : 'default');
    for (const [key, label] of sources) {
      // 'apps' names the env app for error messages; its keys not set by env are defaults.
      if (key === 'apps') continue;
      if (path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`)) origin = label;
    }
    origins.set(path, origin);
  }
  return origins;
}

/** Every leaf of a JSON-like value with its path; arrays of scalars count as one leaf. */
export function leafPaths(value: unknown, prefix = ''): Array<[string, unknown]> {
  if (Array.isArray(value)) {
    if (value.every((item) => item === null || typeof item !== 'object')) return prefix === '' ? [] : [[prefix, value]];
    return value.flatMap((item, index) => leafPaths(item, `${prefix}[${index}]`));
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Json).filter(([, inner]) => inner !== undefined);
    if (entries.length === 0) return prefix === '' ? [] : [[prefix, value]];
    return entries.flatMap(([key, inner]) => leafPaths(inner, prefix === '' ? key : `${prefix}.${key}`));
  }
  return prefix === '' ? [] : [[prefix, value]];
}

function readConfigFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new HeraldError('HERALD_CONFIG_UNREADABLE', `cannot read config file ${resolve(file)}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new HeraldError('HERALD_CONFIG_INVALID', `config file ${resolve(file)} does not parse: ${describeParseError(err, text)}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new HeraldError('HERALD_CONFIG_INVALID', `config file ${resolve(file)} must hold a mapping at the top level`);
  }
  return data as Json;
}

/**
 * Parser messages quote the offending source line, which may hold a secret
 * (`secret: "abc` unclosed): keep the reason and the position, never the text.
 */
function describeParseError(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const yamlPosition = (err as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
  if (yamlPosition) {
    const reason = (message.split('\n', 1)[0] ?? '').replace(/ at line \d+, column \d+:?$/, '').split(': ', 1)[0];
    return `${reason} at line ${yamlPosition.line}, column ${yamlPosition.col}`;
  }
  const jsonPosition = /at position (\d+)/.exec(message);
  if (jsonPosition) {
    const lines = text.slice(0, Number(jsonPosition[1])).split('\n');
    const reason = message.replace(/ (in|after) JSON at position \d+[\s\S]*$/, '');
    return `${reason} at line ${lines.length}, column ${(lines[lines.length - 1]?.length ?? 0) + 1}`;
  }
  // Anything after ': ' is a quoted piece of the source (e.g. an unresolved alias name).
  const reason = (message.split('\n', 1)[0] ?? '').split(': ', 1)[0] ?? '';
  return /["'`]/.test(reason) ? 'unexpected token' : reason;
}

function applyEnv(raw: Json, env: NodeJS.ProcessEnv, sources: Map<string, string>, problems: string[]): void {
  for (const binding of envBindings) {
    // The long name wins over a short alias: an image may set HERALD_HOST as its default
    // while a deployment sets HERALD_SERVER_HOST.
    const name = [binding.env, ...binding.aliases].find((candidate) => env[candidate] !== undefined || (binding.secret && env[`${candidate}_FILE`] !== undefined));
    if (name === undefined) continue;
    const value = readEnvValue(name, env, binding.secret, problems);
    if (value === undefined) continue;
    const fromFile = env[name] === undefined;
    const label = `env ${name}${fromFile ? '_FILE' : ''}`;
    const parsed = parseEnvValue(binding, value);
    if (!parsed.ok) {
      problems.push(`${binding.path.join('.')}: ${parsed.error}${binding.secret ? '' : `, got '${value.length > 60 ? `${value.slice(0, 57)}...` : value}'`} (${label})`);
      continue;
    }
    setPath(raw, binding.path, parsed.value);
    sources.set(binding.path.join('.'), label);
  }
  const id = env[appEnv.id];
  const key = env[appEnv.key];
  const secret = readEnvValue(appEnv.secret, env, true, problems);
  const given = [id, key, secret].filter((v) => v !== undefined).length;
  if (given === 0) return;
  if (given < 3) {
    problems.push(`apps: ${appEnv.id}, ${appEnv.key} and ${appEnv.secret} (or ${appEnv.secret}_FILE) go together (from env)`);
    return;
  }
  const existing = Array.isArray(raw.apps) ? (raw.apps[0] as Json | undefined) : undefined;
  raw.apps = [{ ...(existing ?? {}), id, key, secret, secretFile: undefined }];
  sources.set('apps', `env ${appEnv.id}`);
  sources.set('apps[0].id', `env ${appEnv.id}`);
  sources.set('apps[0].key', `env ${appEnv.key}`);
  sources.set('apps[0].secret', `env ${env[appEnv.secret] === undefined ? `${appEnv.secret}_FILE` : appEnv.secret}`);
}

function readEnvValue(name: string, env: NodeJS.ProcessEnv, secret: boolean, problems: string[]): string | undefined {
  const direct = env[name];
  const fromFile = secret ? env[`${name}_FILE`] : undefined;
  if (direct !== undefined && fromFile !== undefined) {
    problems.push(`${name}: give ${name} or ${name}_FILE, not both (from env)`);
    return undefined;
  }
  if (fromFile !== undefined) {
    try {
      return readFileSync(fromFile, 'utf8').trim();
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${fromFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'} (from env)`);
      return undefined;
    }
  }
  return direct;
}

function resolveAppSecrets(app: RawApp, index: number, problems: string[], fileLabel: string, env: NodeJS.ProcessEnv): AppConfig {
  const { secretFile, apns, fcm: rawFcm, ...rawRest } = app;
  const fcm = rawFcm === undefined ? undefined : resolveFcm(rawFcm, `apps[${index}].fcm`, env, problems, fileLabel);
  const rest = fcm === undefined ? rawRest : { ...rawRest, fcm };
  let secret = app.secret ?? '';
  if (secretFile !== undefined) {
    secret = readSecretFile(secretFile, `apps[${index}].secretFile`, problems, fileLabel) ?? '';
    if (secret !== '' && secret.length < 8) {
      problems.push(`apps[${index}].secretFile: the secret in ${secretFile} must be at least 8 characters (${fileLabel})`);
    }
  }
  if (!apns) return { ...rest, secret };
  const { passphraseFile, ...apnsRest } = apns;
  const resolvedApns: AppApnsConfig =
    passphraseFile === undefined
      ? apnsRest
      : { ...apnsRest, passphrase: readSecretFile(passphraseFile, `apps[${index}].apns.passphraseFile`, problems, fileLabel) ?? '' };
  return { ...rest, secret, apns: resolvedApns };
}

function resolveFcm(fcm: FcmConfig, key: string, env: NodeJS.ProcessEnv, problems: string[], fileLabel: string): AppFcmConfig | undefined {
  const { serviceAccountFile, serviceAccountJson, serviceAccountEnv, ...settings } = fcm;
  const serviceAccount = resolveServiceAccount({ serviceAccountFile, serviceAccountJson, serviceAccountEnv }, key, env, problems, fileLabel);
  return serviceAccount === undefined ? undefined : { ...settings, serviceAccount };
}

function readSecretFile(path: string, key: string, problems: string[], fileLabel: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    problems.push(`${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'} (${fileLabel})`);
    return undefined;
  }
}

function defaultDemoApp(): RawApp {
  // A dry-run APNs target, so a fresh machine can watch a push travel (docs/console.md).
  const parsed = configSchema.parse({ apps: [{ ...DEMO_APP, apns: { dryRun: true } }] });
  const app = parsed.apps?.[0];
  if (!app) throw new HeraldError('HERALD_INTERNAL', 'demo app did not parse');
  return app;
}

function describeIssue(issue: z.core.$ZodIssue, raw: Json, sources: Map<string, string>, fileLabel: string): string {
  // Shown with odd keys masked; the whole path still decides what is a secret and where it came from.
  const path = formatSecretFilePath(issue.path);
  const fullPath = formatPath(issue.path);
  let source = fileLabel;
  for (const [key, label] of sources) {
    if (fullPath === key || fullPath.startsWith(`${key}.`) || fullPath.startsWith(`${key}[`)) source = label;
  }
  const value = getPath(raw, issue.path);
  const shown = value === undefined ? '' : `, got ${describeValue(fullPath, value)}`;
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map(describeKey).join(', ')}`;
  return `${path || '(top level)'}: ${message}${issue.code === 'unrecognized_keys' ? '' : shown} (${source})`;
}

// Webhook headers typically carry credentials (Authorization, API keys).
const secretKeyPattern = /secret|passphrase|password|privatekey|url$|headers/i;
const secretWordPattern = /secret|passphrase|password|authorization|token/i;

function describeValue(path: string, value: unknown): string {
  if (secretKeyPattern.test(path)) return '[redacted]';
  // A value that swallowed the next line (`key: abc  secret: …` after a lost newline) may
  // hold another key's secret: a string with blanks or a secret-like word is not echoed.
  if (typeof value === 'string' && (/\s/.test(value) || secretWordPattern.test(value))) return `a text of ${value.length} characters`;
  // An object (a whole apns block in the wrong shape) is shown by its key names only: a
  // misspelt key (`passphHse`) would slip past any mask on names, so no value is echoed.
  if (typeof value === 'object' && value !== null) {
    const keys = Array.isArray(value) ? `a list of ${value.length}` : `an object with keys ${Object.keys(value).map(describeKey).join(', ')}`;
    return keys.length > 120 ? `${keys.slice(0, 117)}...` : keys;
  }
  const text = maskUrlCredentials(typeof value === 'string' ? `'${value}'` : JSON.stringify(value));
  return text === undefined ? typeof value : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A key that is not name-like is a value that lost its `: ` (`urlredis://:pw@host`): don't echo it. */
function describeKey(key: string): string {
  return NAME_LIKE_KEY.test(key) ? `'${key}'` : `of ${key.length} characters that is not a name`;
}

/** A misplaced value may still be a URL with a password in it (`redis: url:redis://:pw@host`). */
function maskUrlCredentials(text: string | undefined): string | undefined {
  return text?.replace(/([a-z][\w+.-]*:\/\/)[^\s/@]*@/gi, '$1***@');
}

function getPath(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const part of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

function setPath(root: Json, path: readonly string[], value: unknown): void {
  let node = root;
  path.slice(0, -1).forEach((part) => {
    const next = node[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[part] = {};
    node = node[part] as Json;
  });
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

function invalid(problems: string[]): HeraldError {
  return new HeraldError('HERALD_CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
