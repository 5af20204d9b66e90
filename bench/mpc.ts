/**
 * DKLs23 benchmark: DKG (incl. pairwise OT setup), presign and online signing
 * for several (t, n), all parties in one process (so wall time = total CPU of
 * all parties), and payload bytes sent per party. Last line: one JSON object.
 *
 *   npm run bench:mpc
 */
import { createKeygen, createOnlineSign, createPresign, finished as ok, runInProcess as run, type KeyShare, type Presignature, type RunOutcome, type Signature } from "@mpc-relay/mpc";

const CONFIGS: [t: number, n: number, signatures: number][] = [
  [2, 3, 20],
  [3, 5, 20],
  [5, 9, 5],
  [7, 10, 3],
];

const sessionId = () => globalThis.crypto.getRandomValues(new Uint8Array(32));

function maxBytes(outcome: RunOutcome<unknown>): number {
  return Math.max(...outcome.bytesSent.values());
}

/** CPU milliseconds spent in f (user + system): robust to other load on the machine. */
function timed<T>(f: () => T): [T, number] {
  const start = process.cpuUsage();
  const value = f();
  const used = process.cpuUsage(start);
  return [value, (used.user + used.system) / 1000];
}

const summary: Record<string, number> = {};
const rows: string[] = [];
const header = "t-of-n | DKG ms | DKG KiB/party | presign ms | online ms | sign ms | presign B/party | online B/party";
rows.push(header, "-".repeat(header.length));

for (const [t, n, count] of CONFIGS) {
  const parties = Array.from({ length: n }, (_, i) => i + 1);
  const keyId = `bench-${t}-of-${n}`;
  const dkgSession = sessionId();
  const [keygen, dkgMs] = timed(() => ok(run(new Map(parties.map((self) => [self, createKeygen({ sessionId: dkgSession, keyId, self, parties, threshold: t })])))));
  const shares = keygen.results as Map<number, KeyShare>;
  const signers = parties.slice(0, t);
  let presignMs = 0;
  let onlineMs = 0;
  let presignBytes = 0;
  let onlineBytes = 0;
  for (let i = 0; i < count; i++) {
    const presignSession = sessionId();
    const [pre, p] = timed(() => ok(run(new Map(signers.map((self) => [self, createPresign({ sessionId: presignSession, keyId, share: shares.get(self)!, signers })])))));
    const digest = globalThis.crypto.getRandomValues(new Uint8Array(32));
    const onlineSession = sessionId();
    const presignatures = pre.results as Map<number, Presignature>;
    const [sig, o] = timed(() => ok(run(new Map([...presignatures].map(([self, presignature]) => [self, createOnlineSign({ sessionId: onlineSession, keyId, presignature, digest })])))));
    if ((sig.results as Map<number, Signature>).size !== t) throw new Error("missing signature");
    // The first iteration warms up the JIT; keep it out of the averages when there are several.
    if (i === 0 && count > 1) continue;
    presignMs += p;
    onlineMs += o;
    presignBytes = maxBytes(pre);
    onlineBytes = maxBytes(sig);
  }
  const measured = count > 1 ? count - 1 : 1;
  presignMs /= measured;
  onlineMs /= measured;
  const tag = `${t}of${n}`;
  Object.assign(summary, {
    [`dkg_${tag}_ms`]: Math.round(dkgMs),
    [`dkg_${tag}_bytes`]: maxBytes(keygen),
    [`presign_${tag}_ms`]: Number(presignMs.toFixed(2)),
    [`online_${tag}_ms`]: Number(onlineMs.toFixed(3)),
    [`sign_${tag}_ms`]: Number((presignMs + onlineMs).toFixed(2)),
    [`sign_${tag}_bytes`]: presignBytes + onlineBytes,
  });
  rows.push(
    [
      `${t}-of-${n}`.padEnd(6),
      dkgMs.toFixed(0).padStart(6),
      (maxBytes(keygen) / 1024).toFixed(0).padStart(13),
      presignMs.toFixed(1).padStart(10),
      onlineMs.toFixed(2).padStart(9),
      (presignMs + onlineMs).toFixed(1).padStart(7),
      String(presignBytes).padStart(15),
      String(onlineBytes).padStart(14),
    ].join(" | "),
  );
}

console.log(rows.join("\n"));
console.log("(CPU ms of one process running all parties, i.e. total CPU across parties; bytes: payload sent by the busiest party, broadcasts counted per recipient)");
console.log(JSON.stringify(summary));
