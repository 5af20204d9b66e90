/**
 * The SDK for dapps on ethers v6: fromEthers turns an ethers Signer or Provider into the clients
 * MpcRelayClient takes, whether the node signs (JSON-RPC signer) or an ethers Wallet signs locally.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { Wallet, id as keccakText, type Provider } from "ethers";
import { parseEther, recoverTypedDataAddress, type Hex } from "viem";
import { MpcRelayClient, MpcRelayError } from "@mpc-relay/sdk";
import { fromEthers } from "@mpc-relay/sdk/ethers";
import { MpcRelayTestKit } from "@mpc-relay/testkit";

const A = 31337;
const B = 31338;

describe("SDK on ethers", () => {
  it("sends and follows a message with an ethers JSON-RPC signer and with an ethers Wallet", async () => {
    const kit = await MpcRelayTestKit.fromHardhat(network, [A, B]);
    const { ethers: ethersA } = kit.chain(A).connection!;
    const { ethers: ethersB } = kit.chain(B).connection!;
    const probeFactory = await ethersB.getContractFactory("ProbeReceiver");
    const probe = await probeFactory.deploy(kit.chain(B).target);
    const receiver = (await probe.getAddress()) as Hex;

    const [nodeSigner] = await ethersA.getSigners();
    const wallet = new Wallet(keccakText("mpc-relay sdk ethers wallet"), ethersA.provider);
    await kit.chain(A).testClient.setBalance({ address: wallet.address as Hex, value: parseEther("10") });
    const destination = { ...(await fromEthers(ethersB.provider as unknown as Provider)), gateway: kit.chain(B).target };

    for (const signer of [nodeSigner!, wallet]) {
      const source = await fromEthers(signer);
      assert.equal(source.walletClient!.account.address, signer.address);
      const relay = new MpcRelayClient({ source: { ...source, gateway: kit.chain(A).source, finality: { confirmations: 0 } }, destinations: { [B]: destination } });
      const sent = await relay.send({ dstChainId: B, receiver, payload: "0x1234", gasLimit: 200_000n });
      const tx = await kit.chain(A).publicClient.getTransaction({ hash: sent.txHash });
      assert.equal(tx.from.toLowerCase(), signer.address.toLowerCase(), "the ethers signer sent it");
      assert.equal((await relay.status(sent.messageId)).state, "final");
      await kit.deliverAll();
      assert.equal((await relay.status(sent.messageId)).state, "delivered");
    }

    // Typed data goes through ethers' own signTypedData for a local Wallet.
    const { walletClient } = await fromEthers(wallet);
    const typedData = { domain: { name: "MpcRelayGateway", version: "1", chainId: A }, types: { Ping: [{ name: "n", type: "uint256" }] }, primaryType: "Ping", message: { n: 7n } } as const;
    const signature = await walletClient!.signTypedData(typedData);
    assert.equal(await recoverTypedDataAddress({ ...typedData, signature }), wallet.address);
  });

  it("says what is missing when a signer has no provider or a provider cannot forward JSON-RPC", async () => {
    await assert.rejects(fromEthers(new Wallet(keccakText("unconnected"))), (e: unknown) => e instanceof MpcRelayError && /not connected to a provider/.test(e.message));
    const bare = { getNetwork: async () => ({ chainId: 1n }) } as unknown as Provider;
    await assert.rejects(fromEthers(bare), (e: unknown) => e instanceof MpcRelayError && /no send\(\)/.test(e.message));
  });
});
