import { createRequire } from "node:module";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";

// This example compiles offline with the solc npm package; a project with internet access can drop `path`.
const solcJs = createRequire(import.meta.url).resolve("solc/soljson.js");

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    version: "0.8.30",
    path: solcJs,
    settings: { evmVersion: "cancun" },
    // Artifacts, and so TypeChain typings, for the gateways' interfaces too (they come from a package).
    npmFilesToBuild: ["@mpc-relay/contracts/interfaces/ISourceGateway.sol", "@mpc-relay/contracts/interfaces/ITargetGateway.sol"],
  },
  // Live networks the fork tests fork: URLs from env or the Hardhat keystore, never from the repository.
  networks: {
    liveA: { type: "http", url: configVariable("LIVE_A_RPC_URL") },
    liveB: { type: "http", url: configVariable("LIVE_B_RPC_URL") },
  },
});
