// A software passkey for the suites that need no browser (test/browser/ signs with Chromium's
// virtual authenticator): a P-256 key made by node:crypto, its attestation (`none`) and
// authenticator data encoded with the CBOR encoder of @simplewebauthn/server's helpers, answers
// shaped as PublicKeyCredential.toJSON() gives them. It keeps its credentials (a resident key: the
// user handle it was made for) and its sign counter, so assertions can be replayed or made to go back.
import crypto from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

const b64u = (b: Uint8Array | Buffer) => Buffer.from(b).toString('base64url');

interface Held {
  id: string;
  key: crypto.KeyObject;
  rpId: string;
  userHandle: string;
  counter: number;
}

export class SoftAuthenticator {
  readonly credentials: Held[] = [];
  private readonly origin: string;

  constructor(origin: string) {
    this.origin = origin;
  }

  private clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, origin = this.origin) {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** navigator.credentials.create with `options.publicKey` (creation options as JSON). */
  create(publicKey: any, opts: { challenge?: string; origin?: string; userVerified?: boolean } = {}) {
    const { privateKey, publicKey: pub } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = pub.export({ format: 'jwk' });
    const credId = crypto.randomBytes(16);
    const cose = new Map<number, number | Uint8Array>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x!, 'base64url')], [-3, Buffer.from(jwk.y!, 'base64url')]]);
    const rpId = publicKey.rp.id as string;
    const flags = 0x01 | (opts.userVerified === false ? 0 : 0x04) | 0x40;
    const len = Buffer.alloc(2);
    len.writeUInt16BE(credId.length);
    const authData = Buffer.concat([crypto.hash('sha256', rpId, 'buffer'), Buffer.from([flags]), Buffer.alloc(4), Buffer.alloc(16), len, credId, Buffer.from(isoCBOR.encode(cose as any))]);
    const attestation = isoCBOR.encode(new Map<string, any>([['fmt', 'none'], ['attStmt', new Map()], ['authData', new Uint8Array(authData)]]) as any);
    const held: Held = { id: b64u(credId), key: privateKey, rpId, userHandle: publicKey.user.id, counter: 0 };
    this.credentials.push(held);
    return {
      id: held.id, rawId: held.id, type: 'public-key', authenticatorAttachment: 'platform',
      clientExtensionResults: { credProps: { rk: true } },
      response: {
        clientDataJSON: b64u(this.clientData('webauthn.create', opts.challenge ?? publicKey.challenge, opts.origin)),
        attestationObject: b64u(attestation), transports: ['internal'],
      },
    };
  }

  /** navigator.credentials.get with `options.publicKey` (request options as JSON): a discoverable credential for the relying party. */
  get(publicKey: any, opts: { credential?: Held; counter?: number } = {}) {
    const held = opts.credential ?? this.credentials.find((c) => c.rpId === publicKey.rpId);
    if (!held) throw new Error('no credential for this relying party');
    held.counter = opts.counter ?? held.counter + 1;
    const count = Buffer.alloc(4);
    count.writeUInt32BE(held.counter);
    const authData = Buffer.concat([crypto.hash('sha256', held.rpId, 'buffer'), Buffer.from([0x05]), count]);
    const clientData = this.clientData('webauthn.get', publicKey.challenge);
    const signature = crypto.sign('sha256', Buffer.concat([authData, crypto.hash('sha256', clientData, 'buffer')]), held.key);
    return {
      id: held.id, rawId: held.id, type: 'public-key', authenticatorAttachment: 'platform', clientExtensionResults: {},
      response: { clientDataJSON: b64u(clientData), authenticatorData: b64u(authData), signature: b64u(signature), userHandle: held.userHandle },
    };
  }
}
