import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';

/**
 * Opens a PKCS#12 bundle to read the certificates and key inside. Node can only hand a
 * bundle to TLS (which checks the passphrase), not show what it holds, so node-forge (a
 * direct dependency, for this file only) decrypts it; certificates and keys are then
 * turned into node's own objects so everything after this works on one representation.
 */
export interface Pkcs12Contents {
  certificates: X509Certificate[];
  privateKey: KeyObject | undefined;
}

/** Throws with forge's message on a wrong passphrase or a damaged file. */
export function openPkcs12(pfx: Buffer, passphrase: string | undefined): Pkcs12Contents {
  const asn1 = forge.asn1.fromDer(forge.util.createBuffer(pfx.toString('binary')));
  const p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, passphrase ?? '');
  const certificates: X509Certificate[] = [];
  let privateKey: KeyObject | undefined;
  for (const content of p12.safeContents) {
    for (const bag of content.safeBags) {
      if (bag.type === forge.pki.oids.certBag) {
        const certAsn1 = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1;
        if (certAsn1) certificates.push(new X509Certificate(derOf(certAsn1)));
      } else if (bag.type === forge.pki.oids.pkcs8ShroudedKeyBag || bag.type === forge.pki.oids.keyBag) {
        const keyInfo = bag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key)) : bag.asn1;
        if (keyInfo && !privateKey) privateKey = createPrivateKey({ key: derOf(keyInfo), format: 'der', type: 'pkcs8' });
      }
    }
  }
  return { certificates, privateKey };
}

function derOf(asn1: forge.asn1.Asn1): Buffer {
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}
