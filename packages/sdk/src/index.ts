/**
 * The mpc-relay SDK: gateway ABIs, the message and its EIP-712 forms, a client that sends and follows
 * messages (one status merging the source, relayer and target views), retry and abandon, and the typed
 * errors they throw. The ethers v6 adapter is `@mpc-relay/sdk/ethers`.
 */
export * from "./abi.ts";
export * from "./client.ts";
export * from "./errors.ts";
export * from "./finality.ts";
export * from "./http.ts";
export * from "./log-ranges.ts";
export * from "./logs.ts";
export * from "./message.ts";
export * from "./revert.ts";
export * from "./status.ts";
