/**
 * Cost of operator signatures on protocol messages (staking nodes): every
 * message of a 3-of-5 keyGen, presign and online signature is signed once by
 * its sender and checked by each recipient (relayer/staking/message-signer.ts),
 * compared with the CPU time of the protocol itself. All parties run in one
 * process, so both columns are totals over all parties. Last line: one JSON object.
 *
 *   npm run bench:signatures
 */
import { hexToBytes, keccak256, toHex, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  createKeygen,
  createOnlineSign,
  createPresign,
  finished,
  runInProcess as run,
  type KeyShare,
  type Presignature,
  type ProtocolInstance,
  type ProtocolMessage,
  type RunOutcome,
} from "@mpc-relay/mpc";
import { MessageSigner, stakingDomainSeparator } from "../relayer/staking/message-signer.ts";

const T = 3;
const N = 5;
const ROUNDS = 20;
const parties = Array.from({ length: N }, (_, i) => i + 1);
const signers = parties.slice(0, T);
const separator = stakingDomainSeparator(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const keys = parties.map((p) => keccak256(toHex(`bench operator ${p}`)));
const operatorSigners = new Map(parties.map((p, i) => [p, new MessageSigner(keys[i]!, separator)]));
const operators = new Map<number, Address>(parties.map((p, i) => [p, privateKeyToAccount(keys[i]!).address]));
const sessionId = () => globalThis.crypto.getRandomValues(new Uint8Array(32));

function cpuMs<T>(f: () => T): [T, number] {
  const start = process.cpuUsage();
  const value = f();
  const used = process.cpuUsage(start);
  return [value, (used.user + used.system) / 1000];
}

/** Runs the protocol recording what each recipient got; returns the outcome, its CPU time and the deliveries. */
function recorded<R>(instances: Map<number, ProtocolInstance<R>>): [RunOutcome<R>, number, ProtocolMessage[]] {
  const delivered: ProtocolMessage[] = [];
  const [outcome, ms] = cpuMs(() =>
    run(instances, (m) => {
      delivered.push(m);
      return [m];
    }),
  );
  return [finished(outcome), ms, delivered];
}

/** Signs each sent message once (a broadcast once for all recipients) and checks every delivered copy. */
function signatureCost(delivered: ProtocolMessage[]): { ms: number; messages: number; bytes: number } {
  const [, ms] = cpuMs(() => {
    const signed = new Map<ProtocolMessage, `0x${string}`>();
    for (const m of delivered) {
      const signature = signed.get(m) ?? operatorSigners.get(m.from)!.sign(m);
      signed.set(m, signature);
      if (!operatorSigners.get(m.from)!.verify(m, signature, operators.get(m.from)!)) throw new Error("signature does not verify");
    }
  });
  return { ms, messages: delivered.length, bytes: delivered.reduce((n, m) => n + m.payload.length, 0) };
}

const rows: string[] = [];
const summary: Record<string, number> = {};
const header = "operation (3-of-5) | protocol CPU ms | messages | payload KiB | signatures CPU ms | overhead";
rows.push(header, "-".repeat(header.length));
const report = (name: string, protocolMs: number, cost: { ms: number; messages: number; bytes: number }) => {
  rows.push(
    `${name.padEnd(18)} | ${protocolMs.toFixed(2).padStart(15)} | ${String(cost.messages).padStart(8)} | ${(cost.bytes / 1024).toFixed(1).padStart(11)} | ${cost.ms.toFixed(2).padStart(17)} | ${((100 * cost.ms) / protocolMs).toFixed(1)} %`,
  );
  summary[`${name}_protocol_ms`] = Number(protocolMs.toFixed(2));
  summary[`${name}_signatures_ms`] = Number(cost.ms.toFixed(2));
};

const keyId = "bench-signatures";
const dkgSession = sessionId();
const [keygen, dkgMs, dkgMessages] = recorded<KeyShare>(new Map(parties.map((self) => [self, createKeygen({ sessionId: dkgSession, keyId, self, parties, threshold: T })])));
report("keygen", dkgMs, signatureCost(dkgMessages));

let presignMs = 0;
let onlineMs = 0;
const presignCost = { ms: 0, messages: 0, bytes: 0 };
const onlineCost = { ms: 0, messages: 0, bytes: 0 };
const add = (total: typeof presignCost, one: typeof presignCost) => {
  total.ms += one.ms;
  total.messages += one.messages;
  total.bytes += one.bytes;
};
for (let i = 0; i < ROUNDS; i++) {
  const presignSession = sessionId();
  const [pre, pMs, preMessages] = recorded<Presignature>(new Map(signers.map((self) => [self, createPresign({ sessionId: presignSession, keyId, share: keygen.results.get(self)!, signers })])));
  presignMs += pMs;
  add(presignCost, signatureCost(preMessages));
  const digest = hexToBytes(keccak256(toHex(`bench digest ${i}`)));
  const onlineSession = sessionId();
  const [, oMs, onlineMessages] = recorded(new Map(signers.map((self) => [self, createOnlineSign({ sessionId: onlineSession, keyId, presignature: pre.results.get(self)!, digest })])));
  onlineMs += oMs;
  add(onlineCost, signatureCost(onlineMessages));
}
const average = (c: typeof presignCost) => ({ ms: c.ms / ROUNDS, messages: c.messages / ROUNDS, bytes: c.bytes / ROUNDS });
report("presign", presignMs / ROUNDS, average(presignCost));
report("online", onlineMs / ROUNDS, average(onlineCost));

console.log(rows.join("\n"));
console.log(`(per party: divide by ${N} for keyGen, ${T} for signing; libsecp256k1 sign + recover, SHA-256 over payloads, keccak over the short headers)`);
console.log(JSON.stringify(summary));
