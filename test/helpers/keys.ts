// Test keys leave the generation as PEM and become key objects of their own: exporting (or handing jose) a key object
// straight out of generateKeyPair deadlocked a test worker on Node 20.20 (a GC during the export runs the KeyGenJob's
// destructor, which waits for the mutex the export holds; the long story is at generateSigningKey in demo/dev-provider.ts).
import { createPrivateKey, createPublicKey, generateKeyPairSync, type ED25519KeyPairOptions, type KeyObject } from 'node:crypto';

export type KeySpec = ['rsa', { modulusLength: number }] | ['ec', { namedCurve: string }] | ['ed25519'] | ['x25519'];

export interface GeneratedKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PKCS8 PEM */
  privatePem: string;
  /** SPKI PEM */
  publicPem: string;
}

/** PKCS8 and SPKI PEM, which every type here takes; typed with @types/node's interface so generateKeyPairSync picks its PEM overload. */
const PEM: ED25519KeyPairOptions<'pem', 'pem'> = {
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
};

function pemPair(...spec: KeySpec): { privateKey: string; publicKey: string } {
  const [type, options] = spec;
  switch (type) {
    case 'rsa':
      return generateKeyPairSync('rsa', { ...options, ...PEM });
    case 'ec':
      return generateKeyPairSync('ec', { ...options, ...PEM });
    case 'ed25519':
      return generateKeyPairSync('ed25519', PEM);
    case 'x25519':
      return generateKeyPairSync('x25519', PEM);
  }
}

/** A key pair as PEM and as key objects made from that PEM, e.g. generatedKeys('ec', { namedCurve: 'P-256' }). */
export function generatedKeys(...spec: KeySpec): GeneratedKeys {
  const pem = pemPair(...spec);
  return { privateKey: createPrivateKey(pem.privateKey), publicKey: createPublicKey(pem.publicKey), privatePem: pem.privateKey, publicPem: pem.publicKey };
}
