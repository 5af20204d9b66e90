/** The relayer's public entry points (see config.ts for the configuration file). */
export { startRelayer, type MessageStatus, type Relayer } from "./relayer.ts";
export { loadRelayerConfig, parseRelayerConfig, relayerConfigSchema, type RelayerConfig, type RelayerChainConfig } from "./config.ts";
export type { MessageState } from "./store.ts";
