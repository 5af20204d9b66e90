/**
 * docs/wire-format.md and its test vectors (test/vectors/wire-format.json):
 * - the committed vectors are exactly what scripts/lib/gen-wire-vectors.ts renders from the project's code, so
 *   they cannot drift from it;
 * - every vector checks out with ethers v6 alone, following the document (no project code, no viem): ids and
 *   leaves by keccak256 and AbiCoder, digests by TypedDataEncoder, the batch tree and its multiproofs rebuilt
 *   and verified in a few lines, signatures by recoverAddress;
 * - the document quotes the same constants (type hashes, selectors, the worked example);
 * - and on chain: a TargetGateway deployed in-process with the test key as relay accepts the vectors' own
 *   calldata (single messages, two multiproofs of the batch, the signed relay rotation) and refuses the
 *   signatures' high-s twins and a rotation signature with v as 0/1.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { AbiCoder, concat, getBytes, id as hashText, Interface, keccak256, recoverAddress, Signature, SigningKey, toBeHex, toUtf8Bytes, TypedDataEncoder, Wallet } from "ethers";
import { network } from "hardhat";
import { renderWireVectors, wireVectorsPath } from "../../scripts/lib/gen-wire-vectors.ts";

type Hex = string;
interface JsonMessage {
  nonce: string;
  srcChainId: string;
  srcGateway: string;
  sender: string;
  dstChainId: string;
  receiver: string;
  gasLimit: string;
  payload: Hex;
}
interface JsonDomain {
  name: string;
  version: string;
  chainId: string;
  verifyingContract: string;
}
interface Signed {
  signature: Hex;
  r: Hex;
  s: Hex;
  v: number;
}
interface Multiproof {
  name: string;
  selected: number[];
  order: number[];
  leaves: Hex[];
  proof: Hex[];
  proofFlags: boolean[];
  receiveBatchCalldata: Hex;
}
interface Vectors {
  key: { privateKey: Hex; derivation: string; address: string };
  deployment: { chainId: string; deployer: string; targetGateway: string; receiver: string };
  types: Record<"EIP712Domain" | "Message" | "Batch" | "RelayRotation", string>;
  typeHashes: Record<"EIP712Domain" | "Message" | "Batch" | "RelayRotation", Hex>;
  domain: JsonDomain & { nameHash: Hex; versionHash: Hex; separator: Hex };
  messages: (Signed & {
    name: string;
    deliverable: boolean;
    message: JsonMessage;
    id: Hex;
    domain: JsonDomain;
    domainSeparator: Hex;
    digest: Hex;
    compact: { r: Hex; vs: Hex };
    receiveMessageCalldata: Hex;
  })[];
  batch: Signed & {
    messages: JsonMessage[];
    ids: Hex[];
    leaves: Hex[];
    tree: Hex[];
    root: Hex;
    domain: JsonDomain;
    digest: Hex;
    compact: { r: Hex; vs: Hex };
    multiproofs: Multiproof[];
  };
  relayRotation: Signed & { newRelay: string; nonce: string; deadline: string; domain: JsonDomain; digest: Hex };
}

const committed = await readFile(wireVectorsPath, "utf8");
const vectors = JSON.parse(committed) as Vectors;

// ---- From here to the on-chain part: ethers and docs/wire-format.md only. ----

const abi = AbiCoder.defaultAbiCoder();
/** secp256k1 group order n, and n/2: the largest s the gateway accepts. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = N / 2n;

const messageTypes = {
  Message: [
    { name: "nonce", type: "uint64" },
    { name: "srcChainId", type: "uint64" },
    { name: "srcGateway", type: "address" },
    { name: "sender", type: "address" },
    { name: "dstChainId", type: "uint64" },
    { name: "receiver", type: "address" },
    { name: "gasLimit", type: "uint64" },
    { name: "payload", type: "bytes" },
  ],
};
const batchTypes = { Batch: [{ name: "root", type: "bytes32" }] };
const rotationTypes = {
  RelayRotation: [
    { name: "newRelay", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** Message id by hand: keccak256(abi.encode(MESSAGE_TYPEHASH, the seven fields, keccak256(payload))). */
function messageIdByHand(m: JsonMessage): Hex {
  return keccak256(
    abi.encode(
      ["bytes32", "uint64", "uint64", "address", "address", "uint64", "address", "uint64", "bytes32"],
      [keccak256(toUtf8Bytes(vectors.types.Message)), m.nonce, m.srcChainId, m.srcGateway, m.sender, m.dstChainId, m.receiver, m.gasLimit, keccak256(m.payload)],
    ),
  );
}

/** Batch leaf of a message id: keccak256(keccak256(abi.encode(id))). */
const leafOf = (id: Hex): Hex => keccak256(keccak256(abi.encode(["bytes32"], [id])));
/** Inner node: keccak256 of the two children, smaller first. */
const hashPair = (a: Hex, b: Hex): Hex => (BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a])));

/** The tree as an array: leaves sorted ascending, stored from the end backwards; node i = hashPair(2i+1, 2i+2). */
function buildTree(leaves: Hex[]): Hex[] {
  const sorted = [...leaves].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
  const tree: Hex[] = new Array(2 * sorted.length - 1);
  sorted.forEach((leaf, k) => (tree[tree.length - 1 - k] = leaf));
  for (let i = tree.length - 1 - sorted.length; i >= 0; i--) tree[i] = hashPair(tree[2 * i + 1]!, tree[2 * i + 2]!);
  return tree;
}

/** A multiproof for tree positions `positions`: leaves (by descending position), proof, flags. */
function makeMultiproof(tree: Hex[], positions: number[]) {
  const queue = [...positions].sort((a, b) => b - a);
  const leaves = queue.map((i) => tree[i]!);
  const proof: Hex[] = [];
  const proofFlags: boolean[] = [];
  while (queue.length > 0 && queue[0]! > 0) {
    const j = queue.shift()!;
    const sibling = j % 2 === 1 ? j + 1 : j - 1;
    if (queue[0] === sibling) {
      proofFlags.push(true);
      queue.shift();
    } else {
      proofFlags.push(false);
      proof.push(tree[sibling]!);
    }
    queue.push(Math.floor((j - 1) / 2));
  }
  return { leaves, proof, proofFlags };
}

/** The root a multiproof proves (what TargetGateway.receiveBatch computes), or throws on a malformed one. */
function processMultiproof(leaves: Hex[], proof: Hex[], proofFlags: boolean[]): Hex {
  if (leaves.length + proof.length !== proofFlags.length + 1) throw new Error("invalid multiproof");
  if (proofFlags.length === 0) return leaves.length > 0 ? leaves[0]! : proof[0]!;
  const queue = [...leaves];
  const rest = [...proof];
  for (const flag of proofFlags) {
    const a = queue.shift()!;
    const b = flag ? queue.shift()! : rest.shift();
    if (b === undefined) throw new Error("invalid multiproof");
    queue.push(hashPair(a, b));
  }
  if (rest.length !== 0) throw new Error("invalid multiproof");
  return queue.at(-1)!;
}

/** A signature is as the gateway wants it: 65 bytes r || s || v, v 27 or 28, s at most n/2, recovering to the key. */
function assertSignature(digest: Hex, signed: Signed, compact?: { r: Hex; vs: Hex }) {
  assert.equal(getBytes(signed.signature).length, 65);
  assert.equal(signed.signature, concat([signed.r, signed.s, `0x${signed.v.toString(16)}`]));
  assert.ok(signed.v === 27 || signed.v === 28);
  assert.ok(BigInt(signed.s) <= HALF_N, "low s");
  assert.equal(recoverAddress(digest, signed.signature), vectors.key.address);
  // ethers signs the same digest to the same bytes (RFC 6979, low s).
  assert.equal(new SigningKey(vectors.key.privateKey).sign(digest).serialized, signed.signature);
  if (compact) {
    // EIP-2098: vs = s with (v - 27) in the top bit.
    assert.equal(compact.r, signed.r);
    assert.equal(BigInt(compact.vs), BigInt(signed.s) | (BigInt(signed.v - 27) << 255n));
    assert.equal(recoverAddress(digest, Signature.from({ r: compact.r, yParityAndS: compact.vs })), vectors.key.address);
  }
}

const messageTuple = "(uint64 nonce,uint64 srcChainId,address srcGateway,address sender,uint64 dstChainId,address receiver,uint64 gasLimit,bytes payload)";
const gatewayInterface = new Interface([
  `function receiveMessage(${messageTuple} message, bytes32 r, bytes32 vs)`,
  `function receiveBatch(${messageTuple}[] messages, bytes32[] proof, bool[] proofFlags, bytes32 r, bytes32 vs)`,
  "function rotateRelay(address newRelay, uint256 deadline, bytes signature)",
  "event MessageDelivered(bytes32 indexed messageId)",
  "event RelayChanged(address indexed previousRelay, address indexed newRelay, uint64 previousRelayExpiresAt)",
]);

describe("docs/wire-format.md test vectors", () => {
  it("are what scripts/lib/gen-wire-vectors.ts renders from the project's code (npx tsx scripts/lib/gen-wire-vectors.ts)", async () => {
    assert.equal(committed, await renderWireVectors());
  });

  it("docs/wire-format.md quotes the constants the vectors and ethers give", async () => {
    const doc = await readFile(new URL("../../docs/wire-format.md", import.meta.url), "utf8");
    const quoted = [
      ...Object.values(vectors.typeHashes),
      vectors.domain.nameHash,
      vectors.domain.versionHash,
      vectors.deployment.targetGateway,
      vectors.deployment.receiver,
      vectors.messages[0]!.id,
      vectors.messages[0]!.digest,
      `0x${HALF_N.toString(16)}`,
    ];
    gatewayInterface.forEachFunction((f) => quoted.push(f.selector));
    gatewayInterface.forEachEvent((e) => e.name === "MessageDelivered" && quoted.push(e.topicHash));
    quoted.push(new Interface(["function onMessage(uint64 srcChainId, address sender, bytes payload)"]).getFunction("onMessage")!.selector);
    quoted.push(
      new Interface([`event MessageSent(bytes32 indexed messageId, uint64 indexed dstChainId, address indexed sender, ${messageTuple} message, uint256 fee)`]).getEvent("MessageSent")!.topicHash,
    );
    quoted.push(new Interface([`function retryMessage(${messageTuple} message)`]).getFunction("retryMessage")!.selector);
    for (const text of [...quoted, ...Object.values(vectors.types)]) assert.ok(doc.includes(text), `docs/wire-format.md lacks ${text}`);
  });

  describe("checked with ethers v6 alone", () => {
    it("the test key and the type hashes", () => {
      assert.equal(keccak256(toUtf8Bytes("mpc-relay test key: wire-format vectors")), vectors.key.privateKey);
      assert.equal(new Wallet(vectors.key.privateKey).address, vectors.key.address);
      for (const name of ["EIP712Domain", "Message", "Batch", "RelayRotation"] as const) {
        assert.equal(keccak256(toUtf8Bytes(vectors.types[name])), vectors.typeHashes[name], name);
      }
      assert.equal(TypedDataEncoder.from(messageTypes).encodeType("Message"), vectors.types.Message);
      assert.equal(TypedDataEncoder.from(batchTypes).encodeType("Batch"), vectors.types.Batch);
      assert.equal(TypedDataEncoder.from(rotationTypes).encodeType("RelayRotation"), vectors.types.RelayRotation);
    });

    it("the domain separator: TypedDataEncoder.hashDomain and by hand", () => {
      const { name, version, chainId, verifyingContract } = vectors.domain;
      assert.equal(name, "MpcRelayGateway");
      assert.equal(version, "1");
      assert.equal(TypedDataEncoder.hashDomain({ name, version, chainId, verifyingContract }), vectors.domain.separator);
      assert.equal(keccak256(toUtf8Bytes(name)), vectors.domain.nameHash);
      assert.equal(keccak256(toUtf8Bytes(version)), vectors.domain.versionHash);
      const byHand = keccak256(
        abi.encode(["bytes32", "bytes32", "bytes32", "uint256", "address"], [vectors.typeHashes.EIP712Domain, vectors.domain.nameHash, vectors.domain.versionHash, chainId, verifyingContract]),
      );
      assert.equal(byHand, vectors.domain.separator);
    });

    for (const vector of vectors.messages) {
      it(`message "${vector.name}": id, digest, signature, calldata`, () => {
        const m = vector.message;
        // The id is the EIP-712 struct hash of the message.
        assert.equal(messageIdByHand(m), vector.id);
        assert.equal(TypedDataEncoder.hashStruct("Message", messageTypes, m), vector.id);
        // The domain is the target gateway's on the message's destination chain.
        assert.equal(vector.domain.chainId, m.dstChainId);
        assert.equal(TypedDataEncoder.hashDomain(vector.domain), vector.domainSeparator);
        assert.equal(TypedDataEncoder.hash(vector.domain, messageTypes, m), vector.digest);
        assert.equal(keccak256(concat(["0x1901", vector.domainSeparator, vector.id])), vector.digest);
        assertSignature(vector.digest, vector, vector.compact);
        assert.equal(gatewayInterface.encodeFunctionData("receiveMessage", [m, vector.compact.r, vector.compact.vs]), vector.receiveMessageCalldata);
      });
    }

    it("the batch: ids, leaves, tree, root, digest, signature", () => {
      const { batch } = vectors;
      assert.deepEqual(batch.messages.map(messageIdByHand), batch.ids);
      assert.deepEqual(batch.ids.map(leafOf), batch.leaves);
      assert.deepEqual(buildTree(batch.leaves), batch.tree);
      assert.equal(batch.tree[0], batch.root);
      assert.equal(TypedDataEncoder.hash(batch.domain, batchTypes, { root: batch.root }), batch.digest);
      const batchHash = keccak256(abi.encode(["bytes32", "bytes32"], [vectors.typeHashes.Batch, batch.root]));
      assert.equal(keccak256(concat(["0x1901", TypedDataEncoder.hashDomain(batch.domain), batchHash])), batch.digest);
      assertSignature(batch.digest, batch, batch.compact);
    });

    for (const multiproof of vectors.batch.multiproofs) {
      it(`the batch multiproof of ${multiproof.name}: built and verified from the document`, () => {
        const { batch } = vectors;
        // Its leaves are the selected messages' leaves, in the order the messages must be passed.
        assert.deepEqual([...multiproof.order].sort(), [...multiproof.selected].sort());
        assert.deepEqual(
          multiproof.order.map((i) => batch.leaves[i]),
          multiproof.leaves,
        );
        assert.equal(processMultiproof(multiproof.leaves, multiproof.proof, multiproof.proofFlags), batch.root);
        const positions = multiproof.selected.map((i) => batch.tree.indexOf(batch.leaves[i]!));
        assert.deepEqual(makeMultiproof(batch.tree, positions), { leaves: multiproof.leaves, proof: multiproof.proof, proofFlags: multiproof.proofFlags });
        // Tampering breaks it.
        assert.notEqual(processMultiproof([...multiproof.leaves].reverse(), multiproof.proof, multiproof.proofFlags), batch.root);
        assert.equal(
          gatewayInterface.encodeFunctionData("receiveBatch", [multiproof.order.map((i) => batch.messages[i]), multiproof.proof, multiproof.proofFlags, batch.compact.r, batch.compact.vs]),
          multiproof.receiveBatchCalldata,
        );
      });
    }

    it("the relay rotation: digest and 65-byte signature", () => {
      const { relayRotation: rotation } = vectors;
      const value = { newRelay: rotation.newRelay, nonce: rotation.nonce, deadline: rotation.deadline };
      assert.equal(TypedDataEncoder.hash(rotation.domain, rotationTypes, value), rotation.digest);
      assertSignature(rotation.digest, rotation);
    });
  });

  // ---- On chain: Hardhat's in-process chain, the vectors' raw calldata. ----

  it("a TargetGateway deployed with the test key as relay accepts the vectors' calldata", async () => {
    const { viem } = await network.create();
    const publicClient = await viem.getPublicClient();
    const [deployer] = await viem.getWalletClients();
    assert.equal(BigInt(await publicClient.getChainId()), BigInt(vectors.deployment.chainId));
    assert.equal(deployer!.account.address.toLowerCase(), vectors.deployment.deployer.toLowerCase());
    const gateway = await viem.deployContract("TargetGateway", [deployer!.account.address, vectors.key.address as `0x${string}`, 0n, 0n]);
    const receiver = await viem.deployContract("NoopReceiver");
    assert.equal(gateway.address.toLowerCase(), vectors.deployment.targetGateway.toLowerCase());
    assert.equal(receiver.address.toLowerCase(), vectors.deployment.receiver.toLowerCase());
    assert.equal(await gateway.read.domainSeparator(), vectors.domain.separator);

    const delivered = async (data: Hex): Promise<string[]> => {
      const hash = await deployer!.sendTransaction({ to: gateway.address, data: data as `0x${string}`, gas: 2_000_000n });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      assert.equal(receipt.status, "success");
      const topic = hashText("MessageDelivered(bytes32)");
      return receipt.logs.filter((log) => log.topics[0] === topic).map((log) => log.topics[1]!);
    };

    const deliverable = vectors.messages.filter((v) => v.deliverable);
    const rejects = (data: Hex, error: string) => assert.rejects(publicClient.call({ to: gateway.address, data: data as `0x${string}`, gas: 2_000_000n }), (e: Error) => e.message.includes(error));
    /** The malleable twin of a signature: s -> n - s, v flipped (it recovers the same key; ethers refuses it: "non-canonical s"). */
    const twin = (signed: Signed) => ({ s: N - BigInt(signed.s), v: signed.v === 27 ? 28 : 27 });
    {
      // receiveMessage: the EIP-2098 form has 255 bits for s, and this twin's s needs 256 (as almost every twin's
      // does: only s in (2^255, n/2] fits), so masked to 255 bits it recovers some other address.
      const vector = deliverable[0]!;
      const { s, v } = twin(vector);
      assert.ok(s >= 1n << 255n);
      const vs = toBeHex((s & ((1n << 255n) - 1n)) | (BigInt(v - 27) << 255n), 32);
      await rejects(gatewayInterface.encodeFunctionData("receiveMessage", [vector.message, vector.r, vs]), "InvalidSignature(");
    }
    for (const vector of deliverable) {
      assert.deepEqual(await delivered(vector.receiveMessageCalldata), [vector.id], vector.name);
      const { srcChainId, srcGateway, nonce } = vector.message;
      assert.equal(await gateway.read.isReceived([BigInt(srcChainId), srcGateway as `0x${string}`, BigInt(nonce)]), true);
    }
    const [subset, every] = vectors.batch.multiproofs;
    const subsetIds = subset!.order.map((i) => vectors.batch.ids[i]);
    assert.deepEqual(await delivered(subset!.receiveBatchCalldata), subsetIds);
    // The whole batch again: the members already received are skipped, the others delivered.
    assert.deepEqual(
      await delivered(every!.receiveBatchCalldata),
      every!.order.map((i) => vectors.batch.ids[i]).filter((id) => !subsetIds.includes(id)),
    );

    const rotation = vectors.relayRotation;
    assert.equal(await gateway.read.rotationNonce(), BigInt(rotation.nonce));
    {
      // rotateRelay takes 65 bytes: the twin is expressible there, and refused by the low-s rule.
      const { s, v } = twin(rotation);
      const signature = concat([rotation.r, toBeHex(s, 32), toBeHex(v, 1)]);
      const data = gatewayInterface.encodeFunctionData("rotateRelay", [rotation.newRelay, rotation.deadline, signature]);
      await rejects(data, "ECDSAInvalidSignatureS(");
      // So is the right signature with v as 0/1 instead of 27/28.
      const v01 = concat([rotation.r, rotation.s, toBeHex(rotation.v - 27, 1)]);
      await rejects(gatewayInterface.encodeFunctionData("rotateRelay", [rotation.newRelay, rotation.deadline, v01]), "ECDSAInvalidSignature()");
    }
    await delivered(gatewayInterface.encodeFunctionData("rotateRelay", [rotation.newRelay, rotation.deadline, rotation.signature]));
    assert.equal((await gateway.read.relay()).toLowerCase(), rotation.newRelay.toLowerCase());
  });
});
