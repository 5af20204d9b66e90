import { createRequire } from "node:module";
import { configVariable, defineConfig } from "hardhat/config";
import hardhatToolboxViem from "@nomicfoundation/hardhat-toolbox-viem";
import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import hardhatTypechain from "@nomicfoundation/hardhat-typechain";

// Compile offline with the solc npm package instead of downloading a compiler.
const require = createRequire(import.meta.url);
const solcJsPath = require.resolve("solc/soljson.js");

/** Public testnets read their RPC URL and deployer key from env or the Hardhat keystore. */
function testnet(name: string, chainId: number) {
  return {
    type: "http" as const,
    chainType: "l1" as const,
    chainId,
    url: configVariable(`${name}_RPC_URL`),
    accounts: [configVariable(`${name}_PRIVATE_KEY`)],
  };
}

export default defineConfig({
  // viem for the project's own code; ethers and TypeChain typings (types/ethers-contracts) for dapps on ethers.
  plugins: [hardhatToolboxViem, hardhatEthers, hardhatTypechain],
  solidity: {
    version: "0.8.30",
    path: solcJsPath,
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      evmVersion: "cancun",
    },
  },
  paths: {
    sources: "./contracts",
    tests: { solidity: "./test/solidity", nodejs: "./test" },
  },
  networks: {
    localA: { type: "http", chainType: "l1", url: process.env.LOCAL_A_RPC_URL ?? "http://127.0.0.1:8545" },
    localB: { type: "http", chainType: "l1", url: process.env.LOCAL_B_RPC_URL ?? "http://127.0.0.1:8546" },
    sepolia: testnet("SEPOLIA", 11155111),
    baseSepolia: testnet("BASE_SEPOLIA", 84532),
    arbitrumSepolia: testnet("ARBITRUM_SEPOLIA", 421614),
  },
});
