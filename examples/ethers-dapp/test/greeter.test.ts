/** The greeter across two in-process chains (ethers v6, Mocha, TypeChain), relayed by the mpc-relay test kit. */
import { expect } from "chai";
import { network } from "hardhat";
import { MpcRelayClient } from "@mpc-relay/sdk";
import { fromEthers } from "@mpc-relay/sdk/ethers";
import { MpcRelayTestKit } from "@mpc-relay/testkit";
import { CrossChainGreeter__factory, ISourceGateway__factory } from "../types/ethers-contracts/index.js";

const A = 31337;
const B = 31338;

async function setUp() {
  const kit = await MpcRelayTestKit.fromHardhat(network, [A, B]);
  const [a, b] = [kit.chain(A), kit.chain(B)];
  const [ownerA] = await a.connection.ethers.getSigners();
  const [ownerB] = await b.connection.ethers.getSigners();
  const greeterA = await new CrossChainGreeter__factory(ownerA).deploy(a.source, a.target);
  const greeterB = await new CrossChainGreeter__factory(ownerB).deploy(b.source, b.target);
  return { kit, a, b, ownerA: ownerA!, ownerB: ownerB!, greeterA, greeterB };
}

describe("CrossChainGreeter over mpc-relay", () => {
  it("sets the greeting on the other chain", async () => {
    const { kit, greeterA, greeterB } = await setUp();
    await greeterA.greet(B, await greeterB.getAddress(), "hello from A", { value: await greeterA.quote(B, "hello from A") });
    const deliveries = await kit.deliverAll();
    expect(deliveries.map((d) => d.outcome)).to.deep.equal(["delivered"]);
    expect(await greeterB.greeting()).to.equal("hello from A");
    expect(await greeterB.greetedFrom()).to.equal(BigInt(A));
    // The gateway's TypeChain typings come with the interface the contract imports from @mpc-relay/contracts.
    const source = ISourceGateway__factory.connect(kit.chain(A).source, (await kit.chain(A).connection.ethers.getSigners())[0]);
    expect(await source.isSent(deliveries[0]!.messageId)).to.equal(true);
  });

  it("reports an empty greeting's refusal, through the kit and the SDK on ethers, and retries it", async () => {
    const { kit, a, b, ownerA, ownerB, greeterA, greeterB } = await setUp();
    await greeterA.greet(B, await greeterB.getAddress(), "", { value: await greeterA.quote(B, "") });
    const [delivery] = await kit.deliverAll();
    expect(delivery!.outcome).to.equal("failed");
    expect(delivery!.reason!.summary).to.equal('Error("empty greeting")');

    const sdk = new MpcRelayClient({
      source: { ...(await fromEthers(ownerA)), gateway: a.source },
      destinations: { [B]: { ...(await fromEthers(ownerB)), gateway: b.target } },
    });
    expect((await sdk.status(delivery!.messageId)).state).to.equal("failed");
    await greeterB.setAcceptsEmpty(true);
    expect((await sdk.status(delivery!.messageId)).state).to.equal("retryable");
    await sdk.retry(delivery!.messageId);
    expect((await sdk.status(delivery!.messageId)).state).to.equal("delivered");
    expect(await greeterB.greetedFrom()).to.equal(BigInt(A));
  });
});
