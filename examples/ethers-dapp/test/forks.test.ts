/**
 * The greeter on forks of two live networks whose gateways mpc-relay deployed: the RPC URLs come from env
 * or the Hardhat keystore (LIVE_A_RPC_URL, LIVE_B_RPC_URL), the gateway addresses from
 * deployments/liveA.json and deployments/liveB.json as the deploy script writes them.
 */
import { readFile } from "node:fs/promises";
import { expect } from "chai";
import hre, { network } from "hardhat";
import { MpcRelayTestKit, type ForkSpec } from "@mpc-relay/testkit";
import { CrossChainGreeter__factory } from "../types/ethers-contracts/index.js";

async function liveNetwork(name: "liveA" | "liveB"): Promise<ForkSpec | null> {
  const config = hre.config.networks[name];
  if (config?.type !== "http") return null;
  const url = await config.url.get().catch(() => null);
  if (url === null) return null;
  return { url, deployment: JSON.parse(await readFile(`deployments/${name}.json`, "utf8")) as ForkSpec["deployment"] };
}

describe("CrossChainGreeter on forks of live networks", () => {
  it("greets from one fork to the other", async function () {
    const forks = [await liveNetwork("liveA"), await liveNetwork("liveB")];
    if (forks.includes(null)) this.skip(); // set LIVE_A_RPC_URL and LIVE_B_RPC_URL (env or `npx hardhat keystore set`)
    const kit = await MpcRelayTestKit.fromForks(network, forks as ForkSpec[]);
    const [a, b] = forks.map((fork) => kit.chain(fork!.deployment.chainId));
    const greeterA = await new CrossChainGreeter__factory((await a!.connection.ethers.getSigners())[0]).deploy(a!.source, a!.target);
    const greeterB = await new CrossChainGreeter__factory((await b!.connection.ethers.getSigners())[0]).deploy(b!.source, b!.target);

    await greeterA.greet(b!.chainId, await greeterB.getAddress(), "hello across forks", { value: await greeterA.quote(b!.chainId, "hello across forks") });
    const deliveries = await kit.deliverAll();
    expect(deliveries.map((d) => d.outcome)).to.deep.equal(["delivered"]);
    expect(await greeterB.greeting()).to.equal("hello across forks");
  });
});
