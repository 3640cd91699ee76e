import type { Adapter, AdapterPayload } from 'oidc-provider';
import { hashTag } from '../../store/kv/hash-tag.ts';
import type { KvStore } from '../../store/kv/index.ts';
import { alreadyConsumed } from './already-consumed.ts';
import { CONTESTED_MODELS } from './model-tiers.ts';

const FALLBACK_TTL = 3600;

/**
 * The ephemeral tier. Each instance is a JSON value under `oidc:<Model>:{<id>}`; its consumption
 * mark is a separate key set with `claim` (atomic), so the payload never needs rewriting. The id
 * is the hash tag of both keys, which keeps them in one Redis Cluster slot.
 * A per-grant set lists the instances issued under a grant, for `revokeByGrantId`.
 */
export class KvModelStore implements Adapter {
  readonly #kv: KvStore;
  readonly #model: string;

  constructor(kv: KvStore, model: string) {
    this.#kv = kv;
    this.#model = model;
  }

  #key(id: string) {
    return `oidc:${this.#model}:${hashTag(id)}`;
  }

  #consumedKey(id: string) {
    return `${this.#key(id)}:consumed`;
  }

  static grantKey(grantId: string) {
    return `oidc:grant:${grantId}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
    const ttl = expiresIn && expiresIn > 0 ? expiresIn : FALLBACK_TTL;
    const writes: Array<Promise<void>> = [this.#kv.set(this.#key(id), JSON.stringify(payload), ttl)];
    if (payload.grantId) writes.push(this.#kv.addToSet(KvModelStore.grantKey(payload.grantId), `${this.#model}:${id}`, ttl));
    if (payload.uid) writes.push(this.#kv.set(`oidc:${this.#model}:uid:${payload.uid}`, id, ttl));
    if (payload.userCode) writes.push(this.#kv.set(`oidc:${this.#model}:userCode:${payload.userCode}`, id, ttl));
    await Promise.all(writes);
  }

  async find(id: string) {
    const [raw, consumed] = await this.#kv.getMany([this.#key(id), this.#consumedKey(id)]);
    if (raw === undefined) return undefined;
    const payload = JSON.parse(raw) as AdapterPayload;
    return consumed === undefined ? payload : { ...payload, consumed: Number(consumed) };
  }

  async #findBy(index: 'uid' | 'userCode', value: string) {
    const id = await this.#kv.get(`oidc:${this.#model}:${index}:${value}`);
    return id === undefined ? undefined : this.find(id);
  }

  findByUid(uid: string) {
    return this.#findBy('uid', uid);
  }

  findByUserCode(userCode: string) {
    return this.#findBy('userCode', userCode);
  }

  async consume(id: string) {
    const outcome = await this.#kv.claim(this.#key(id), this.#consumedKey(id), String(Math.floor(Date.now() / 1000)));
    if (outcome !== 'won' && CONTESTED_MODELS.has(this.#model)) throw alreadyConsumed(this.#model);
  }

  async destroy(id: string) {
    await this.#kv.del([this.#key(id), this.#consumedKey(id)]);
  }

  async revokeByGrantId(grantId: string) {
    const prefix = `${this.#model}:`;
    const members = await this.#kv.setMembers(KvModelStore.grantKey(grantId));
    const ids = members.filter((member) => member.startsWith(prefix)).map((member) => member.slice(prefix.length));
    await this.#kv.del(ids.flatMap((id) => [this.#key(id), this.#consumedKey(id)]));
  }
}
