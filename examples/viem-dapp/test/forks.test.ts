/**
 * The counter on forks of two live networks whose gateways mpc-relay deployed: the RPC URLs come from
 * env or the Hardhat keystore (LIVE_A_RPC_URL, LIVE_B_RPC_URL), the gateway addresses from
 * deployments/liveA.json and deployments/liveB.json as the deploy script writes them.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import hre, { network } from "hardhat";
import { MpcRelayTestKit, type ForkSpec } from "@mpc-relay/testkit";

async function liveNetwork(name: "liveA" | "liveB"): Promise<ForkSpec | null> {
  const config = hre.config.networks[name];
  if (config?.type !== "http") return null;
  const url = await config.url.get().catch(() => null);
  if (url === null) return null;
  return { url, deployment: JSON.parse(await readFile(`deployments/${name}.json`, "utf8")) as ForkSpec["deployment"] };
}

describe("CrossChainCounter on forks of live networks", () => {
  it("counts an increment sent between the forks", async (t) => {
    const forks = [await liveNetwork("liveA"), await liveNetwork("liveB")];
    if (forks.includes(null)) return t.skip("set LIVE_A_RPC_URL and LIVE_B_RPC_URL (env or `npx hardhat keystore set`)");
    const kit = await MpcRelayTestKit.fromForks(network, forks as ForkSpec[]);
    const [a, b] = forks.map((fork) => kit.chain(fork!.deployment.chainId));
    const counterA = await a!.connection.viem.deployContract("CrossChainCounter", [a!.source, a!.target]);
    const counterB = await b!.connection.viem.deployContract("CrossChainCounter", [b!.source, b!.target]);
    await counterA.write.setPeer([b!.chainId, counterB.address]);
    await counterB.write.setPeer([a!.chainId, counterA.address]);

    await counterA.write.increment([b!.chainId, 9n], { value: await counterA.read.quote([b!.chainId]) });
    const deliveries = await kit.deliverAll();
    assert.deepEqual(
      deliveries.map((d) => d.outcome),
      ["delivered"],
    );
    assert.equal(await counterB.read.received([a!.chainId]), 9n);
  });
});
