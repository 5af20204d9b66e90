/**
 * Staking on a devnet (processes): the devnet deploys RelayStaking, the nodes'
 * committee comes from it and every member submits the cluster key after
 * keyGen; the gateways trust the confirmed relay. A node then stays offline
 * while the others run signing tasks; they record its silence, propose the
 * absence slash, gather each other's signatures and submit it themselves.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getAddress } from "viem";
import type { Devnet, DevnetChain } from "../../relayer/devnet/devnet.ts";
import { deployProbeReceiver, sendMessages, waitForAll } from "../../relayer/devnet/traffic.ts";
import { relayStakingAbi, targetGatewayAbi } from "@mpc-relay/sdk";
import { mineBlocks } from "../../relayer/devnet/chains.ts";
import { readStaking, SlashIndex } from "../../relayer/explorer/network.ts";
import { destroyTestDevnet, eventually, startTestDevnet } from "./helpers.ts";

const OFFLINE = 5;
/** The nodes' default: own records of a member's absence before proposing or signing its slash. */
const MIN_ABSENCES = 3;

let devnet: Devnet;
let a: DevnetChain;
let b: DevnetChain;

describe("devnet: staking", { timeout: 240_000 }, () => {
  before(async () => {
    // No presignature pool: every signing task is a full session offered to all members, so each
    // coordinator sees the offline node's silence (a pooled presignature names its signers up front).
    devnet = await startTestDevnet({ presignPoolSize: 0, blockTimeMs: 500 });
    [a, b] = devnet.chains as [DevnetChain, DevnetChain];
  });
  after(() => destroyTestDevnet(devnet));

  it("confirms the committee's cluster key on RelayStaking and points the gateways at it", async () => {
    const setup = devnet.staking!;
    assert.ok(setup !== null, "the devnet sets up staking by default");
    const relay = await a.publicClient.readContract({ address: setup.staking, abi: relayStakingAbi, functionName: "currentRelay" });
    assert.equal(getAddress(relay), devnet.relayAddress);
    for (const chain of [a, b]) {
      assert.equal(getAddress(await chain.publicClient.readContract({ address: chain.deployment.contracts.TargetGateway, abi: targetGatewayAbi, functionName: "relay" })), devnet.relayAddress);
    }
    const status = (await (await fetch(`${devnet.node(2).apiUrl}/v1/staking`, { headers: { authorization: `Bearer ${devnet.secrets.apiToken}` } })).json()) as {
      members: { peerId: string }[];
      confirmedRelay: string;
    };
    assert.deepEqual(
      status.members.map((m) => m.peerId),
      devnet.nodes.map((n) => n.peerId),
    );
    assert.equal(status.confirmedRelay, devnet.relayAddress);
  });

  it("slashes a node that stays offline through the other nodes' own proposal flow", async () => {
    const setup = devnet.staking!;
    const offline = setup.members[OFFLINE - 1]!;
    const read = <T>(functionName: "getNode" | "rewards", account: `0x${string}`) =>
      a.publicClient.readContract({ address: setup.staking, abi: relayStakingAbi, functionName, args: [account] } as never) as Promise<T>;
    const stakeBefore = (await read<{ stake: bigint }>("getNode", offline)).stake;
    await devnet.stopNode(OFFLINE, true);

    // Messages still flow: four of five sign without the offline node, and nobody records it absent for that.
    const sent = await sendMessages(a, b, await deployProbeReceiver(b), 2);
    await waitForAll(
      b,
      sent.map((m) => m.messageId),
      60_000,
    );
    // A refresh needs every member: each remaining member that coordinates one records the offline node's silence.
    // A member's own records must span the minimum absence window (5 blocks) before it proposes or corroborates
    // the slash, so the rounds pause.
    const refreshWithout = async (index: number): Promise<void> => {
      // A refresh soon after the keyGen waits out the devnet's minimum interval between refreshes.
      await eventually(() => assert.rejects(devnet.node(index).client.refresh(devnet.options.keyId), new RegExp(`no answer from: ${OFFLINE}`)), 15_000, 500);
    };
    for (let round = 0; round <= MIN_ABSENCES; round++) {
      if (round > 0) await new Promise((r) => setTimeout(r, 2_000));
      for (const index of [1, 2, 3, 4]) await refreshWithout(index);
    }
    await eventually(
      async () => {
        const { stake } = await read<{ stake: bigint }>("getNode", offline);
        assert.equal(stake, (stakeBefore * 9n) / 10n, "10 % of the offline node's stake slashed");
      },
      60_000,
      500,
    );
    const slashes = await a.publicClient.getContractEvents({ address: setup.staking, abi: relayStakingAbi, eventName: "AbsenceSlashed", fromBlock: setup.deployBlock });
    assert.equal(slashes.length, 1);
    assert.equal(getAddress(slashes[0]!.args.operator!), offline);
    // The explorer's network page shows the slash, named by its court event, and the stake left.
    const view = await readStaking({
      chain: { chainId: a.chainId, name: a.name, client: a.publicClient, targetGateway: a.deployment.contracts.TargetGateway, maxBlockRange: 2_000 },
      contract: setup.staking,
      fromBlock: BigInt(setup.deployBlock),
    });
    assert.deepEqual(
      view.slashes.map((x) => [x.operator, x.kind, x.amount]),
      [[offline, "absence", (stakeBefore / 10n).toString()]],
    );
    assert.equal(view.members.find((m) => m.operator === offline)?.stake, ((stakeBefore * 9n) / 10n).toString());
    assert.equal(view.slashesComplete, true);
    // A provider that takes one block per eth_getLogs: each read moves on by at most 50 calls and says how far it got.
    await mineBlocks(a.rpcUrl, 60);
    const narrow = new SlashIndex({
      chain: { chainId: a.chainId, name: a.name, client: a.publicClient, targetGateway: a.deployment.contracts.TargetGateway, maxBlockRange: 1 },
      contract: setup.staking,
      fromBlock: BigInt(setup.deployBlock),
    });
    const first = await narrow.read();
    assert.deepEqual([first.slashesComplete, first.slashesThrough], [false, (BigInt(setup.deployBlock) + 49n).toString()]);
    let caughtUp = first;
    for (let reads = 1; !caughtUp.slashesComplete && reads < 1_000; reads++) caughtUp = await narrow.read();
    assert.deepEqual(caughtUp.slashes, view.slashes, "caught up, it finds the same slash");
    // The slash goes to the treasury (the devnet's deployer): no member earns from voting for it.
    const rewards = await Promise.all(setup.members.map((member) => read<bigint>("rewards", member)));
    assert.deepEqual(
      rewards,
      setup.members.map(() => 0n),
    );
    assert.equal(await read<bigint>("rewards", await a.publicClient.readContract({ address: setup.staking, abi: relayStakingAbi, functionName: "treasury" })), stakeBefore / 10n);

    // Every node watches the deliveries for forgeries (every 2 s): genuine messages are never proven.
    await new Promise((r) => setTimeout(r, 4_500));
    const forgeries = await a.publicClient.getContractEvents({ address: setup.staking, abi: relayStakingAbi, eventName: "ForgeryProven", fromBlock: setup.deployBlock });
    assert.equal(forgeries.length, 0);
    assert.equal((await read<{ stake: bigint }>("getNode", setup.members[0]!)).stake, stakeBefore, "members that were present keep their stake");
  });
});
