/**
 * A Google service-account key (the JSON file the Cloud console hands out), validated at
 * the config edge: FCM's OAuth2 needs its project, client e-mail, RSA private key and
 * token URI. The other keys of Google's file (client_id, auth_uri, …) are ignored.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { formatSecretFilePath } from '../lib/format-path.js';

export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';
/** A real key file is about 2.4 KB; anything far larger is not one. */
const MAX_SERVICE_ACCOUNT_BYTES = 64 * 1024;

export interface ServiceAccount {
  readonly projectId: string;
  readonly clientEmail: string;
  /** PKCS#8 PEM. Never logged: config redaction masks it. */
  readonly privateKey: string;
  readonly privateKeyId?: string;
  readonly tokenUri: string;
}

const rsaPem = z.string().refine((pem) => {
  try {
    return createPrivateKey(pem).asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
}, 'must be an RSA private key in PEM form (PKCS#8, as Google issues it)');

const fileSchema = z.object({
  type: z.literal('service_account', { error: "must be 'service_account'" }),
  // Used in the send URL's path: Google's project ids (and the older domain-scoped form).
  project_id: z.string().regex(/^[a-z0-9][a-z0-9.:-]{0,99}$/, 'must be a Google Cloud project id'),
  private_key: rsaPem,
  private_key_id: z.string().optional(),
  client_email: z.string().regex(/^[^@\s]+@[^@\s]+$/, 'must be an e-mail address'),
  token_uri: z.url({ protocol: /^https$/, error: 'must be an https URL' }).default(GOOGLE_TOKEN_URI),
});

export type ServiceAccountParse = { ok: true; account: ServiceAccount } | { ok: false; problem: string };

/** Parses the key file's text; a problem names the JSON field, never its value. */
export function parseServiceAccount(text: string): ServiceAccountParse {
  if (Buffer.byteLength(text) > MAX_SERVICE_ACCOUNT_BYTES) return { ok: false, problem: `larger than ${MAX_SERVICE_ACCOUNT_BYTES} bytes: not a service-account key` };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'not JSON: expected the service-account key file Google issues' };
  }
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    return { ok: false, problem: parsed.error.issues.map((issue) => `${formatSecretFilePath(issue.path) || '(top level)'}: ${issue.message}`).join('; ') };
  }
  const { project_id, client_email, private_key, private_key_id, token_uri } = parsed.data;
  return { ok: true, account: { projectId: project_id, clientEmail: client_email, privateKey: private_key, tokenUri: token_uri, ...(private_key_id === undefined ? {} : { privateKeyId: private_key_id }) } };
}

/** Where an app's key comes from: exactly one of these is set (the schema checks). */
export interface ServiceAccountSources {
  serviceAccountFile?: string | undefined;
  serviceAccountJson?: string | undefined;
  serviceAccountEnv?: string | undefined;
}

/**
 * Reads and checks the key an app's `fcm` block points at. `key` is the block's config
 * path (`apps[0].fcm`); problems name the key that gave the text, the file and the
 * field. `serviceAccountEnv: NAME` reads variable NAME (the JSON), or NAME_FILE (a path).
 */
export function resolveServiceAccount(sources: ServiceAccountSources, key: string, env: NodeJS.ProcessEnv, problems: string[], fileLabel: string): ServiceAccount | undefined {
  let text: string | undefined;
  let where: string;
  if (sources.serviceAccountFile !== undefined) {
    const path = resolve(sources.serviceAccountFile);
    where = `${key}.serviceAccountFile: ${path}`;
    text = readText(path, where, problems, fileLabel);
  } else if (sources.serviceAccountEnv !== undefined) {
    const name = sources.serviceAccountEnv;
    const direct = env[name];
    const path = env[`${name}_FILE`];
    where = `${key}.serviceAccountEnv: ${direct === undefined && path !== undefined ? `${name}_FILE ${resolve(path)}` : name}`;
    if (direct !== undefined && path !== undefined) problems.push(`${where}: give ${name} or ${name}_FILE, not both (${fileLabel})`);
    else if (direct !== undefined) text = direct;
    else if (path !== undefined) text = readText(resolve(path), where, problems, fileLabel);
    else problems.push(`${where}: neither ${name} nor ${name}_FILE is set (${fileLabel})`);
  } else {
    where = `${key}.serviceAccountJson`;
    text = sources.serviceAccountJson;
  }
  if (text === undefined) return undefined;
  const parsed = parseServiceAccount(text);
  if (!parsed.ok) {
    problems.push(`${where}: ${parsed.problem} (${fileLabel})`);
    return undefined;
  }
  return parsed.account;
}

function readText(path: string, where: string, problems: string[], fileLabel: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    problems.push(`${where}: cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'} (${fileLabel})`);
    return undefined;
  }
}
