/**
 * Just enough DER to read what node's X509Certificate does not expose: a certificate's
 * extensions by OID and its validity dates. Bounds are checked on every read, so a
 * malformed certificate yields an error, never a read past the buffer.
 */
export interface DerNode {
  readonly tag: number;
  /** Content bytes (without tag and length). */
  readonly content: Buffer;
  readonly constructed: boolean;
}

export function readDer(buffer: Buffer, offset = 0): { node: DerNode; next: number } {
  const need = (bytes: number): void => {
    if (offset + bytes > buffer.length) throw new Error('truncated DER');
  };
  need(2);
  const tag = buffer[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new Error('multi-byte DER tags are not supported');
  let length = buffer[offset + 1] as number;
  let cursor = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4) throw new Error('unsupported DER length');
    need(2 + bytes);
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + (buffer[cursor + i] as number);
    cursor += bytes;
  }
  if (cursor + length > buffer.length) throw new Error('truncated DER');
  return { node: { tag, content: buffer.subarray(cursor, cursor + length), constructed: (tag & 0x20) !== 0 }, next: cursor + length };
}

export function children(node: DerNode): DerNode[] {
  if (!node.constructed) throw new Error('DER node is not constructed');
  const result: DerNode[] = [];
  let offset = 0;
  while (offset < node.content.length) {
    const { node: child, next } = readDer(node.content, offset);
    result.push(child);
    offset = next;
  }
  return result;
}

export function decodeOid(content: Buffer): string {
  if (content.length === 0) throw new Error('empty OID');
  const first = content[0] as number;
  const parts = [Math.floor(first / 40), first % 40];
  let value = 0;
  for (let i = 1; i < content.length; i++) {
    const byte = content[i] as number;
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

const Tag = { sequence: 0x30, oid: 0x06, octetString: 0x04, boolean: 0x01, extensions: 0xa3, utf8: 0x0c, printable: 0x13, ia5: 0x16, utcTime: 0x17, generalizedTime: 0x18 } as const;

export interface CertificateFields {
  notBefore: Date;
  notAfter: Date;
  /** Extension OID → the extension's value (content of its OCTET STRING). */
  extensions: Map<string, Buffer>;
}

/** Reads validity and extensions from a DER certificate. */
export function readCertificateFields(der: Buffer): CertificateFields {
  const certificate = readDer(der).node;
  const tbs = children(certificate)[0];
  if (!tbs || tbs.tag !== Tag.sequence) throw new Error('certificate has no tbsCertificate');
  const fields = children(tbs);
  // version [0] is optional; validity is the first SEQUENCE made of two times.
  const validity = fields.find((field) => field.tag === Tag.sequence && isValidity(field));
  if (!validity) throw new Error('certificate has no validity');
  const [notBefore, notAfter] = children(validity).map(decodeTime) as [Date, Date];
  const extensions = new Map<string, Buffer>();
  const wrapper = fields.find((field) => field.tag === Tag.extensions);
  const list = wrapper ? children(wrapper)[0] : undefined;
  for (const extension of list ? children(list) : []) {
    const parts = children(extension);
    const oid = parts[0];
    const value = parts[parts.length - 1];
    if (oid?.tag === Tag.oid && value?.tag === Tag.octetString) extensions.set(decodeOid(oid.content), value.content);
  }
  return { notBefore, notAfter, extensions };
}

/** Every string directly inside a SEQUENCE (nested sequences skipped): the topics in Apple's topics extension. */
export function topLevelStrings(value: Buffer): string[] {
  const root = readDer(value).node;
  if (root.tag !== Tag.sequence) return [];
  return children(root)
    .filter((child) => child.tag === Tag.utf8 || child.tag === Tag.printable || child.tag === Tag.ia5)
    .map((child) => child.content.toString('utf8'));
}

function isValidity(node: DerNode): boolean {
  if (!node.constructed) return false;
  const parts = children(node);
  return parts.length === 2 && parts.every((part) => part.tag === Tag.utcTime || part.tag === Tag.generalizedTime);
}

function decodeTime(node: DerNode): Date {
  const text = node.content.toString('ascii');
  const match = /^(\d{2,4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) throw new Error(`unsupported certificate time '${text}'`);
  const [, y, mo, d, h, mi, s] = match as unknown as [string, string, string, string, string, string, string];
  let year = Number(y);
  // RFC 5280: UTCTime years 50–99 are 19xx, 00–49 are 20xx.
  if (node.tag === Tag.utcTime) year += year >= 50 ? 1900 : 2000;
  return new Date(Date.UTC(year, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
}
