/**
 * The deploy command: the gateways and the PingPong example to one chain through Hardhat Ignition
 * (relayer/deploy/deploy.ts), the result in deployments/<network>.json.
 *
 *   npm run deploy -- --rpc http://127.0.0.1:8545 --network localA [--relay 0x..] [--owner 0x..] [--guardian 0x..]
 *     signs with DEPLOYER_PRIVATE_KEY if set, else with the node's first unlocked account (hardhat node).
 *   npm run deploy -- --network sepolia            (or: npx hardhat run scripts/deploy.ts --network sepolia)
 *     a network of hardhat.config.ts, with its configured URL and account (configVariable: env or the Hardhat keystore).
 *   --parameters <file.json> reads Ignition parameters ("$global" and "Gateways": owner, feeRecipient, relay,
 *   maxPayloadBytes, rotationDelay, retentionWindow; "GatewayGuardian": guardian); flags override them.
 *   --deployment-id <id> names the Ignition journal (default: the network name); --out-dir <dir> writes
 *   <dir>/<network>.json and keeps the journal in <dir>/ignition/<id> instead.
 *   RELAY_ADDRESS, OWNER_ADDRESS, GUARDIAN_ADDRESS, FEE_RECIPIENT may replace the flags. Without a relay address
 *   the target gateway starts with none and the owner sets it with setRelay after the MPC network's keyGen.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { DeploymentParameters } from "@nomicfoundation/ignition-core";
import { getAddress, isAddress, isHex, type Address } from "viem";
import { deployAll, type DeployOptions, type Deployment } from "../relayer/deploy/deploy.ts";

function optionalAddress(value: string | undefined, name: string): Address | undefined {
  if (value === undefined || value === "") return undefined;
  if (!isAddress(value)) throw new TypeError(`${name} is not an address: ${value}`);
  return getAddress(value);
}

/** Reads an Ignition parameters file (JSON; "123n" strings are bigints, as Hardhat Ignition reads them). */
export async function readParametersFile(file: string): Promise<DeploymentParameters> {
  return JSON.parse(await readFile(file, "utf8"), (_key, value: unknown) => (typeof value === "string" && /^\d+n$/.test(value) ? BigInt(value.slice(0, -1)) : value)) as DeploymentParameters;
}

/** deployAll's options from a parameters file: "Gateways" and "GatewayGuardian" over "$global". */
function optionsFromParameters(parameters: DeploymentParameters): Partial<DeployOptions> {
  const pick = (module: string, name: string): unknown => parameters[module]?.[name] ?? parameters.$global?.[name];
  const address = (module: string, name: string): Address | undefined => {
    const value = pick(module, name);
    if (value !== undefined && typeof value !== "string") throw new TypeError(`parameter ${module}.${name} must be an address`);
    return optionalAddress(value, `parameter ${module}.${name}`);
  };
  const integer = (name: string): bigint | undefined => {
    const value = pick("Gateways", name);
    if (value === undefined) return undefined;
    if (typeof value !== "bigint" && typeof value !== "number" && typeof value !== "string") throw new TypeError(`parameter Gateways.${name} must be an integer`);
    return BigInt(value);
  };
  const [owner, feeRecipient, relayAddress, guardian] = [address("Gateways", "owner"), address("Gateways", "feeRecipient"), address("Gateways", "relay"), address("GatewayGuardian", "guardian")];
  const [maxPayloadBytes, minRotationDelay, retentionWindow] = [integer("maxPayloadBytes"), integer("rotationDelay"), integer("retentionWindow")];
  return {
    ...(owner ? { owner } : {}),
    ...(feeRecipient ? { feeRecipient } : {}),
    ...(relayAddress ? { relayAddress } : {}),
    ...(guardian ? { guardian } : {}),
    ...(maxPayloadBytes !== undefined ? { maxPayloadBytes: Number(maxPayloadBytes) } : {}),
    ...(minRotationDelay !== undefined ? { minRotationDelay } : {}),
    ...(retentionWindow !== undefined ? { retentionWindow } : {}),
  };
}

async function main(): Promise<void> {
  // Not strict: under `hardhat run` the process arguments also hold Hardhat's own.
  const { values } = parseArgs({
    options: {
      rpc: { type: "string" },
      network: { type: "string" },
      relay: { type: "string" },
      owner: { type: "string" },
      guardian: { type: "string" },
      "fee-recipient": { type: "string" },
      parameters: { type: "string" },
      "deployment-id": { type: "string" },
      "out-dir": { type: "string" },
    },
    strict: false,
    allowPositionals: true,
  });
  const flag = (name: string): string | undefined => {
    const value = values[name];
    if (value === undefined) return undefined;
    if (typeof value !== "string") throw new TypeError(`--${name} needs a value`);
    return value;
  };
  const parametersFile = flag("parameters");
  const fromFile = parametersFile === undefined ? {} : optionsFromParameters(await readParametersFile(parametersFile));
  const relayAddress = optionalAddress(flag("relay") ?? process.env.RELAY_ADDRESS, "relay address");
  const owner = optionalAddress(flag("owner") ?? process.env.OWNER_ADDRESS, "owner");
  const guardian = optionalAddress(flag("guardian") ?? process.env.GUARDIAN_ADDRESS, "guardian");
  const feeRecipient = optionalAddress(flag("fee-recipient") ?? process.env.FEE_RECIPIENT, "fee recipient");
  const deploymentId = flag("deployment-id");
  const outDir = flag("out-dir");
  const common = {
    ...fromFile,
    ...(relayAddress ? { relayAddress } : {}),
    ...(owner ? { owner } : {}),
    ...(guardian ? { guardian } : {}),
    ...(feeRecipient ? { feeRecipient } : {}),
    ...(deploymentId ? { deploymentId } : {}),
    ...(outDir ? { outDir: path.resolve(outDir) } : {}),
  };

  let deployment: Deployment;
  const rpcUrl = flag("rpc");
  if (rpcUrl) {
    const deployerKey = process.env.DEPLOYER_PRIVATE_KEY;
    if (deployerKey !== undefined && !isHex(deployerKey)) throw new TypeError("DEPLOYER_PRIVATE_KEY must be 0x-hex");
    deployment = await deployAll({ ...common, rpcUrl, networkName: flag("network") ?? "custom", ...(deployerKey ? { deployerKey } : {}) });
  } else {
    // A network of hardhat.config.ts (`--network <name>`, also under `npx hardhat run --network <name>`): its
    // URL and its configured account. A configured key signs here as DEPLOYER_PRIVATE_KEY would (so a send
    // whose answer was lost is still journaled by hash); other accounts (remote, mnemonic) and custom HTTP
    // headers go through the connection's provider.
    const { network } = await import("hardhat");
    const connection = await network.create(flag("network"));
    try {
      const config = connection.networkConfig;
      if (config.type !== "http") throw new Error("pass --rpc <url>, or --network <an http network of hardhat.config.ts>");
      const [configuredKey] = Array.isArray(config.accounts) && Object.keys(config.httpHeaders).length === 0 ? config.accounts : [];
      const deployerKey = configuredKey === undefined ? undefined : await configuredKey.get();
      if (deployerKey !== undefined && !isHex(deployerKey)) throw new TypeError(`the account of network ${connection.networkName} must be a 0x-hex private key`);
      deployment = await deployAll({
        ...common,
        rpcUrl: await config.url.getUrl(),
        ...(deployerKey !== undefined ? { deployerKey } : { provider: connection.provider }),
        networkName: connection.networkName,
      });
    } finally {
      await connection.close();
    }
  }
  console.log(JSON.stringify(deployment, null, 2));
}

// Run as a script (tsx, or imported by `hardhat run`), not when imported as a library.
const thisFile = fileURLToPath(import.meta.url);
if (process.argv.slice(1).some((arg) => path.resolve(arg) === thisFile)) {
  await main();
}
