/**
 * MpcRelayClient's one status against two Hardhat chains: the relay is a test key standing in for the
 * MPC network (the test delivers itself) and the relayer's API is a stub the test sets per message,
 * so each view can be put ahead or behind the others on purpose.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { concat, encodeAbiParameters, keccak256, parseEventLogs, stringToHex, toHex, type Abi, type Hex } from "viem";
import {
  sourceGatewayAbi,
  targetGatewayAbi,
  GatewayCallRevertedError,
  MessageNotFoundError,
  MpcRelayClient,
  NoMessageInTransactionError,
  type MessageStatus,
  type SentMessageInfo,
  messageTypedData,
  toCompactSignature,
  type Message,
  mergeStatus,
  type RelayerView,
  type TargetView,
} from "@mpc-relay/sdk";
import { privateKeyToAccount } from "viem/accounts";
import { testAccount } from "../contracts/helpers.ts";
import { setProbeMode, startChain, type TestChain } from "../relay/fixture.ts";
import { startRpcProxy, type RpcProxy } from "../node/rpc-proxy.ts";
import { freePort } from "../../relayer/shared/ports.ts";
import { compiledCli } from "../../relayer/devnet/runtime.ts";

const CLI = await compiledCli();

function mpcRelay(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }));
  });
}

const A = 41_001;
const B = 41_002;
const CONFIRMATIONS = 3;
const relay = testAccount("sdk status relay");
/** Chain B's deployer, also the CLI's destination wallet. */
const WALLET_KEY = keccak256(stringToHex("mpc-relay test key: sdk status wallet"));

const messageTuple = targetGatewayAbi.find((i) => i.type === "function" && i.name === "retryMessage")!.inputs;
/** ProbeReceiver's custom error and its abandon(message), which calls the gateway as the receiver. */
const probeAbi = [
  { type: "error", name: "ProbeRejected", inputs: [{ name: "payload", type: "bytes" }] },
  { type: "function", name: "abandon", stateMutability: "nonpayable", inputs: messageTuple, outputs: [] },
] as const satisfies Abi;

/** A relayer API stub: GET /v1/messages/<id> answers the state the test set, else 404. */
async function startRelayerStub(): Promise<{ url: string; states: Map<string, string>; close(): Promise<void> }> {
  const states = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const id = /\/v1\/messages\/(0x[0-9a-f]{64})$/.exec(req.url ?? "")?.[1];
    const state = id === undefined ? undefined : states.get(id);
    res.writeHead(state === undefined ? 404 : 200, { "content-type": "application/json" });
    res.end(JSON.stringify(state === undefined ? { error: "unknown" } : { messageId: id, state, deliveryTxHash: null, lastError: null, history: [{ state, at: Date.now() }] }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`, states, close: () => new Promise((r) => server.close(() => r())) };
}

/** Deploys a contract whose every call reverts with `data` (a receiver that fails with Error(string)). */
async function deployReverter(chain: TestChain, data: Hex): Promise<Hex> {
  const size = (data.length - 2) / 2;
  // PUSH2 size, PUSH1 14, PUSH1 0, CODECOPY, PUSH2 size, PUSH1 0, <op>: copy what follows the 14-byte prologue, then REVERT/RETURN it.
  const prologue = (op: "fd" | "f3"): Hex => `0x61${size.toString(16).padStart(4, "0")}600e600039${"61" + size.toString(16).padStart(4, "0")}6000${op}`;
  const runtime = concat([prologue("fd"), data]);
  const runtimeSize = (runtime.length - 2) / 2;
  const init = concat([`0x61${runtimeSize.toString(16).padStart(4, "0")}600e600039${"61" + runtimeSize.toString(16).padStart(4, "0")}6000f3`, runtime]);
  const hash = await chain.wallet.sendTransaction({ data: init, account: chain.wallet.account!, chain: chain.chain } as never);
  return (await chain.publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
}

describe("MpcRelayClient.status, retry and abandon", { timeout: 180_000 }, () => {
  let a: TestChain;
  let b: TestChain;
  let stub: Awaited<ReturnType<typeof startRelayerStub>>;
  let proxy: RpcProxy | null = null;

  const client = (p: { relayerApi?: string; errorAbi?: Abi; sourceUrlClient?: TestChain["publicClient"]; maxBlockRange?: number } = {}): MpcRelayClient =>
    new MpcRelayClient({
      source: {
        publicClient: p.sourceUrlClient ?? a.publicClient,
        walletClient: a.wallet as never,
        gateway: a.source,
        fromBlock: BigInt(a.deployBlock),
        finality: { confirmations: CONFIRMATIONS },
        ...(p.maxBlockRange === undefined ? {} : { maxBlockRange: p.maxBlockRange }),
      },
      destinations: { [B]: { publicClient: b.publicClient, gateway: b.target, walletClient: b.wallet as never, fromBlock: BigInt(b.deployBlock) } },
      relayerApi: p.relayerApi ?? stub.url,
      ...(p.errorAbi === undefined ? {} : { errorAbi: p.errorAbi }),
    });

  const send = (payload: string, receiver = b.probe): Promise<SentMessageInfo> => client().send({ dstChainId: B, receiver, payload: toHex(payload), gasLimit: 200_000n });

  /** What the relayer would do: sign with the relay key and submit receiveMessage. */
  async function deliver(message: Message): Promise<Hex> {
    const [r, vs] = toCompactSignature(await relay.signTypedData(messageTypedData(message, b.target)));
    const hash = await b.wallet.writeContract({
      address: b.target,
      abi: targetGatewayAbi,
      functionName: "receiveMessage",
      args: [message, r, vs],
      gas: 1_000_000n,
      account: b.wallet.account!,
      chain: b.chain,
    });
    assert.equal((await b.publicClient.waitForTransactionReceipt({ hash })).status, "success");
    return hash;
  }

  const only = (s: MessageStatus) => ({ state: s.state, behind: s.behind });

  before(async () => {
    a = await startChain(A, B, relay.address);
    b = await startChain(B, A, relay.address, WALLET_KEY);
    stub = await startRelayerStub();
  });
  after(async () => {
    await proxy?.close();
    await stub?.close();
    await a?.close();
    await b?.close();
  });

  it("goes sent -> final -> attested -> delivered, and says which view is behind", async () => {
    const sent = await send("lifecycle");
    const id = sent.messageId;
    const sdk = client();
    let status = await sdk.status(id);
    assert.deepEqual(only(status), { state: "sent", behind: null });
    assert.equal(status.relayer.kind, "unknown");
    assert.equal(status.source.txHash, sent.txHash);
    assert.equal(status.target.kind === "read" && status.target.state, "unreceived");

    // The relayer already counts it final: our finality rule (3 confirmations) does not yet.
    stub.states.set(id, "final");
    assert.deepEqual(only(await sdk.status(id)), { state: "sent", behind: "source" });

    await a.mine(CONFIRMATIONS - 1);
    stub.states.set(id, "seen");
    status = await sdk.status(id);
    assert.deepEqual(only(status), { state: "final", behind: "relayer" });
    assert.match(status.note!, /relayer says seen, the chains say final/);

    stub.states.set(id, "attested");
    assert.deepEqual(only(await sdk.status(id)), { state: "attested", behind: null });

    const deliveryTx = await deliver(sent.message);
    status = await sdk.status(id);
    assert.deepEqual(only(status), { state: "delivered", behind: "relayer" }, "the target is authoritative: relayer still says attested");
    assert.equal(status.target.kind === "read" && status.target.txHash, deliveryTx);

    stub.states.set(id, "delivered");
    assert.deepEqual(only(await sdk.status(id)), { state: "delivered", behind: null });

    // The relayer claims a delivery the target does not show: the target view is the one behind.
    const next = await send("relayer ahead");
    await a.mine(CONFIRMATIONS);
    stub.states.set(next.messageId, "delivered");
    assert.deepEqual(only(await sdk.status(next.messageId)), { state: "attested", behind: "target" });
  });

  it("reports a reverting receiver as failed with its decoded reason, retryable once it would succeed, and retry() delivers it", async () => {
    await setProbeMode(b, 1);
    const sent = await send("reverts");
    await a.mine(CONFIRMATIONS);
    await deliver(sent.message);
    const id = sent.messageId;

    // Without the receiver's ABI the custom error stays raw hex; with it, it is decoded.
    const raw = await client().status(id);
    assert.equal(raw.state, "failed");
    assert.equal(raw.target.kind === "read" && raw.target.reason?.kind, "raw");
    const status = await client({ errorAbi: probeAbi }).status(id);
    assert.equal(status.state, "failed");
    assert.ok(status.target.kind === "read");
    assert.equal(status.target.reason?.summary, `ProbeRejected(${toHex("reverts")})`);
    assert.equal(status.target.retry?.possible, false);
    assert.equal(status.target.retry?.error?.summary, `RetryFailed: ProbeRejected(${toHex("reverts")})`);
    await assert.rejects(client({ errorAbi: probeAbi }).retry(id), (e: unknown) => e instanceof GatewayCallRevertedError && /would revert: RetryFailed: ProbeRejected/.test(e.message));

    await setProbeMode(b, 0);
    stub.states.set(id, "failed");
    const retryable = await client().status(id);
    assert.deepEqual(only(retryable), { state: "retryable", behind: null });
    assert.equal(retryable.target.kind === "read" && retryable.target.retry?.possible, true);

    const retryTx = await client().retry(id);
    const delivered = await client().status(id);
    assert.deepEqual(only(delivered), { state: "delivered", behind: "relayer" });
    assert.equal(delivered.target.kind === "read" && delivered.target.txHash, retryTx);
    await assert.rejects(client().retry(id), (e: unknown) => e instanceof GatewayCallRevertedError && /NotFailed/.test(e.message));
  });

  it("decodes a receiver's Error(string) revert", async () => {
    const reverter = await deployReverter(b, concat(["0x08c379a0", encodeAbiParameters([{ type: "string" }], ["vault is closed"])]));
    const sent = await send("string revert", reverter);
    await a.mine(CONFIRMATIONS);
    await deliver(sent.message);
    const status = await client().status(sent.messageId);
    assert.equal(status.state, "failed");
    assert.deepEqual(status.target.kind === "read" && status.target.reason, { kind: "error", message: "vault is closed", summary: 'Error("vault is closed")' });
  });

  it("abandon(): only the receiver may; through the receiver's own function the message ends abandoned", async () => {
    await setProbeMode(b, 1);
    const sent = await send("to abandon");
    await a.mine(CONFIRMATIONS);
    await deliver(sent.message);
    await setProbeMode(b, 0);
    await assert.rejects(client().abandon(sent.messageId), (e: unknown) => e instanceof GatewayCallRevertedError && /would revert: NotReceiver/.test(e.message));
    const tx = await client().abandon(sent.messageId, { viaReceiver: { abi: probeAbi, functionName: "abandon" } });
    const status = await client().status(sent.messageId);
    assert.equal(status.state, "abandoned");
    assert.equal(status.target.kind === "read" && status.target.txHash, tx);
    await assert.rejects(client().retry(sent.messageId), (e: unknown) => e instanceof GatewayCallRevertedError && /NotFailed/.test(e.message));
  });

  it("looks messages up by their source transaction: all of them in log order, or the index-th", async () => {
    const sent = await send("by tx");
    const [byTx, ...rest] = await client().statusOfTransaction(sent.txHash);
    assert.equal(rest.length, 0);
    assert.equal(byTx!.messageId, sent.messageId);
    await assert.rejects(
      client().statusOfTransaction(sent.txHash, { index: 1 }),
      (e: unknown) => e instanceof NoMessageInTransactionError && /has 1 MessageSent log\(s\); there is no index 1/.test(e.message),
    );
    await assert.rejects(client().statusOfTransaction(`0x${"77".repeat(32)}`), NoMessageInTransactionError);
    await assert.rejects(client().status(`0x${"78".repeat(32)}`), MessageNotFoundError);

    // Three messages in one transaction (equal lengths, so each pays the same fee).
    const artifact = JSON.parse(await readFile(join(import.meta.dirname, "../../artifacts/contracts/examples/testing/MultiSender.sol/MultiSender.json"), "utf8")) as { abi: Abi; bytecode: Hex };
    const deployTx = await a.wallet.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, args: [a.source], account: a.wallet.account!, chain: a.chain });
    const multi = (await a.publicClient.waitForTransactionReceipt({ hash: deployTx })).contractAddress!;
    const payloads = ["one", "two", "six"].map((p) => toHex(p));
    const fee = await client().quoteFee({ dstChainId: B, payload: payloads[0]!, gasLimit: 200_000n });
    const hash = await a.wallet.writeContract({
      address: multi,
      abi: artifact.abi,
      functionName: "sendAll",
      args: [BigInt(B), b.probe, payloads, 200_000n],
      value: fee * 3n,
      account: a.wallet.account!,
      chain: a.chain,
    });
    assert.equal((await a.publicClient.waitForTransactionReceipt({ hash })).status, "success");
    const all = await client().statusOfTransaction(hash);
    assert.deepEqual(
      all.map((s) => s.message.payload),
      payloads,
    );
    assert.ok(all.every((s) => s.source.txHash === hash && s.state === "sent"));
    const second = await client().statusOfTransaction(hash, { index: 1 });
    assert.deepEqual(
      second.map((s) => s.messageId),
      [all[1]!.messageId],
    );
    assert.equal((await client().status(all[2]!.messageId)).source.logIndex, all[2]!.source.logIndex);
  });

  it("answers from the chains when the relayer is down, naming the relayer's URL and the cause", async () => {
    const sent = await send("relayer down");
    await a.mine(CONFIRMATIONS);
    const url = `http://127.0.0.1:${await freePort()}`;
    const status = await client({ relayerApi: url }).status(sent.messageId);
    assert.equal(status.state, "final");
    assert.deepEqual(status.relayer, { kind: "unavailable", url: `${url}/v1/messages/${sent.messageId}`, reason: "connection refused" });
  });

  it("finds a message through an RPC that refuses eth_getLogs ranges above 100 blocks", async () => {
    const sent = await send("far back");
    await a.mine(2_500);
    let refused = 0;
    proxy = await startRpcProxy(a.rpcUrl, async (call, forward) => {
      if (call.method !== "eth_getLogs") return forward();
      const { fromBlock, toBlock } = call.params[0] as { fromBlock: Hex; toBlock: Hex };
      if (Number(toBlock) - Number(fromBlock) + 1 > 100) {
        refused++;
        return { error: { code: -32602, message: "query exceeds max block range 100" } };
      }
      return forward();
    });
    const { createPublicClient, http } = await import("viem");
    const viaProxy = createPublicClient({ chain: a.chain, transport: http(proxy.url, { retryCount: 0 }) }) as TestChain["publicClient"];
    const status = await client({ sourceUrlClient: viaProxy }).status(sent.messageId);
    assert.equal(status.source.txHash, sent.txHash);
    assert.equal(status.state, "final");
    assert.ok(refused > 0 && refused <= 10, `${refused} refused calls: the accepted range is learnt, not re-tried every chunk`);
    const calls = proxy.calls.filter((c) => c.method === "eth_getLogs").length;
    assert.ok(calls <= 40, `${calls} eth_getLogs calls for ~2,500 blocks at 100 per call, newest first`);
  });
  it("the CLI: status by id or tx (text and --json), retry, abandon, add-gas, with the relayer down", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mpc-relay-status-"));
    try {
      const config = (apiPort: number) => ({
        chains: [
          { chainId: A, name: "a", rpcUrls: [a.rpcUrl], confirmations: CONFIRMATIONS, sourceGateway: a.source, targetGateway: a.target, fromBlock: a.deployBlock },
          { chainId: B, name: "b", rpcUrls: [b.rpcUrl], confirmations: CONFIRMATIONS, sourceGateway: b.source, targetGateway: b.target, fromBlock: b.deployBlock },
        ],
        mpc: { nodes: [{ apiUrl: "http://127.0.0.1:1", token: "t".repeat(16) }] },
        delivery: { submitterKeyEnv: "UNUSED" },
        storePath: "./db",
        api: { port: apiPort },
      });
      const downPort = await freePort();
      const cfg = join(dir, "relayer.json");
      await writeFile(cfg, JSON.stringify(config(downPort)));
      await writeFile(join(dir, "errors.json"), JSON.stringify(probeAbi));
      const keyFile = join(dir, "wallet.key");
      const walletKey = WALLET_KEY;
      await writeFile(keyFile, walletKey);
      await chmod(keyFile, 0o600);

      await setProbeMode(b, 1);
      const sent = await send("cli");
      await a.mine(CONFIRMATIONS);
      await deliver(sent.message);

      const text = await mpcRelay(["status", sent.messageId, "--config", cfg, "--error-abi", join(dir, "errors.json")]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`^message ${sent.messageId}: failed\n`));
      assert.match(text.stdout, new RegExp(`target +failed \\(tx 0x[0-9a-f]{64}\\): ProbeRejected\\(${toHex("cli")}\\)`));
      assert.match(text.stdout, new RegExp(`relayer +unavailable: connection refused \\(http://127\\.0\\.0\\.1:${downPort}/v1/messages/${sent.messageId}\\)`));

      await setProbeMode(b, 0);
      const json = await mpcRelay(["status", sent.txHash, "--config", cfg, "--json", "--api", stub.url]);
      assert.equal(json.code, 0, json.stderr);
      const parsed = JSON.parse(json.stdout) as { messageId: string; state: string; behind: string | null; source: { blockNumber: string } };
      assert.deepEqual([parsed.messageId, parsed.state, parsed.behind], [sent.messageId, "retryable", "relayer"]);

      const noKey = await mpcRelay(["retry", sent.messageId, "--config", cfg]);
      assert.equal(noKey.code, 2);
      // A wallet key others can read is refused before anything is sent: the retry below still finds the message retryable.
      const exposed = join(dir, "exposed.key");
      await writeFile(exposed, walletKey);
      await chmod(exposed, 0o644);
      const exposedKey = await mpcRelay(["retry", sent.messageId, "--config", cfg, "--key-file", exposed]);
      assert.equal(exposedKey.code, 1);
      assert.match(exposedKey.stderr, /must be readable by its owner only/);
      const retried = await mpcRelay(["retry", sent.messageId, "--config", cfg, "--key-file", keyFile, "--json"]);
      assert.equal(retried.code, 0, retried.stderr);
      assert.equal((JSON.parse(retried.stdout) as { state: string }).state, "delivered");

      await setProbeMode(b, 1);
      const doomed = await send("cli abandon");
      await a.mine(CONFIRMATIONS);
      await deliver(doomed.message);
      const refused = await mpcRelay(["abandon", doomed.messageId, "--config", cfg, "--key-env", "MPC_RELAY_TEST_WALLET"], { MPC_RELAY_TEST_WALLET: walletKey });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /abandonMessage for 0x[0-9a-f]{64} would revert: NotReceiver\(/);
      const abandoned = await mpcRelay(["abandon", doomed.messageId, "--config", cfg, "--key-env", "MPC_RELAY_TEST_WALLET", "--via-receiver", "abandon"], { MPC_RELAY_TEST_WALLET: walletKey });
      assert.equal(abandoned.code, 0, abandoned.stderr);
      assert.match(abandoned.stdout, /abandoned in tx 0x[0-9a-f]{64}; now abandoned\n$/);
      await setProbeMode(b, 0);

      // add-gas pays the source gateway for more destination gas: GasAdded names the message and the gas.
      await a.publicClient.request({ method: "hardhat_setBalance" as never, params: [privateKeyToAccount(walletKey).address, "0xde0b6b3a7640000"] as never });
      const added = await mpcRelay(["add-gas", sent.messageId, "50000", "--config", cfg, "--key-file", keyFile, "--json"]);
      assert.equal(added.code, 0, added.stderr);
      const addTx = (JSON.parse(added.stdout) as { txHash: Hex }).txHash;
      const [gasAdded] = parseEventLogs({ abi: sourceGatewayAbi, eventName: "GasAdded", logs: (await a.publicClient.getTransactionReceipt({ hash: addTx })).logs });
      assert.deepEqual([gasAdded?.args.messageId, gasAdded?.args.extraGas], [sent.messageId, 50_000n]);
      assert.equal((await mpcRelay(["add-gas", sent.messageId, "0", "--config", cfg, "--key-file", keyFile])).code, 2, "zero gas is a usage error");

      const rpcDown = `http://127.0.0.1:${await freePort()}`;
      await writeFile(cfg, JSON.stringify({ ...config(downPort), chains: config(downPort).chains.map((c) => ({ ...c, rpcUrls: [rpcDown] })) }));
      const down = await mpcRelay(["status", sent.messageId, "--config", cfg]);
      assert.equal(down.code, 1);
      assert.match(down.stderr, new RegExp(`^error: reading (transaction|message) ${sent.messageId} \\(RPC ${rpcDown.replace(/\./g, "\\.")}/?\\): connection refused\n$`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("mergeStatus", () => {
  const message = {
    nonce: 0n,
    srcChainId: 1n,
    srcGateway: `0x${"11".repeat(20)}`,
    sender: `0x${"22".repeat(20)}`,
    dstChainId: 2n,
    receiver: `0x${"33".repeat(20)}`,
    gasLimit: 1n,
    payload: "0x",
  } as Message;
  const source = { chainId: 1, txHash: `0x${"44".repeat(32)}`, blockNumber: 10n, logIndex: 0, finalBlock: 10n, final: true } as const;
  const merge = (target: TargetView, relayer: RelayerView) => mergeStatus({ messageId: `0x${"55".repeat(32)}`, message, source, target, relayer });
  const known = (state: string): RelayerView => ({ kind: "known", url: "u", state, deliveryTxHash: null, lastError: null, attempts: 0, signers: null, history: [] });
  const unreceived: TargetView = { kind: "read", chainId: 2, state: "unreceived", txHash: null, reason: null, retry: null };

  it("without a target view, stops at attested whatever the relayer claims, and says so", () => {
    const s = merge({ kind: "not-configured", chainId: 2 }, known("delivered"));
    assert.deepEqual([s.state, s.behind], ["attested", null]);
    assert.match(s.note!, /no destination client for chain 2/);
  });

  it("a relayer that is down or saw a reorg the chain does not show", () => {
    assert.deepEqual(only2(merge(unreceived, { kind: "unavailable", url: "u", reason: "connection refused" })), ["final", null]);
    assert.deepEqual(only2(merge(unreceived, known("dropped"))), ["final", "relayer"]);
    assert.deepEqual(only2(merge(unreceived, { kind: "unknown", url: "u" })), ["final", "relayer"]);
    assert.deepEqual(only2(merge({ ...unreceived, state: "failed", retry: { possible: true, error: null } }, known("delivered"))), ["retryable", "target"]);
  });
});

function only2(s: { state: string; behind: string | null }): [string, string | null] {
  return [s.state, s.behind];
}
