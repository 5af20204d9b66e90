/**
 * The port through which an extension (the staking agent, relayer/staking)
 * plugs into a signer node: what the node hands it and what it gives back.
 * The node never imports an extension; whoever starts the node (the CLI)
 * passes the extension's factory to `startNode`. An extension imports from
 * the node only what this file names.
 */
import type { PartyIndex } from "@mpc-relay/mpc";
import type { Logger } from "../shared/log.ts";
import type { NodeChainConfig } from "./chain/config.ts";
import type { NodeConfig } from "./config.ts";
import type { PeerDirectory } from "./directory.ts";
import type { StakingFrameBody } from "./frames.ts";
import type { KeyStore } from "./keystore.ts";
import type { KeyAuthority, OperatorApprovals } from "./session/authority.ts";
import type { MessageAuthenticator, ProvenFault } from "./session/types.ts";

export type { AbsenceRecord, ClockObservation, KeyRecord, KeyStore, MalformedEntry } from "./keystore.ts";
export type { NodeIdentity } from "./identity.ts";
export type { PeerDirectory, PeerEntry } from "./directory.ts";
export type { StakingFrameBody } from "./frames.ts";
export type { NodeChainConfig } from "./chain/config.ts";
export type { StakingConfig } from "./config.ts";
export { type KeyAuthority, type OperatorApprovals, type ReshareTarget } from "./session/authority.ts";
export { SessionError } from "./session/errors.ts";
export { operationHash, type ApprovableOperation } from "./session/ids.ts";
export { sameMembers } from "./session/engine.ts";
export type { MessageAuthenticator, ProvenFault } from "./session/types.ts";

/** What the node gives an extension when it starts it. */
export interface PluginDeps {
  readonly config: NonNullable<NodeConfig["staking"]>;
  /** The chains the node reads (an extension may watch them too). */
  readonly chains: readonly NodeChainConfig[];
  readonly store: KeyStore;
  readonly log: Logger;
  /** Sends one of the extension's frames to a member. */
  send(to: PartyIndex, body: StakingFrameBody): void;
}

/** What the extension may do when the node is up. */
export interface PluginHooks {
  /** Closes connections to peers that are no longer members (after the directory changed). */
  dropNonMembers(): Promise<void>;
  /** Runs a reshare this node coordinates (a committee hand-over). */
  reshare(keyId: string, newParties: PartyIndex[], newThreshold: number): Promise<unknown>;
}

/** An HTTP answer of an extension's own API routes. */
export interface PluginResponse {
  status: number;
  body: unknown;
}

export interface NodePlugin {
  /** The committee, in place of the config's static peer list. */
  readonly directory: PeerDirectory;
  /** Who may change this node's keys (wrapping the operator's own approvals). */
  keyAuthority(approvals: OperatorApprovals): KeyAuthority;
  /** Signatures on protocol messages, or null to send them unsigned. */
  messageAuthenticator(): MessageAuthenticator | null;
  /** A frame of the extension from a member. */
  handle(from: PartyIndex, body: StakingFrameBody): void;
  /** A peer's fault proven by its own signed messages. */
  onFault(fault: ProvenFault): void;
  /** Answers the API routes under `prefix`; null when it has no such route. */
  readonly routePrefix: string;
  route(method: string, path: string, body: unknown): Promise<PluginResponse | null>;
  /** Whether the extension's view is fresh enough to serve (part of /health/ready). */
  readiness(): { ok: boolean; detail: string };
  start(hooks: PluginHooks): void;
  stop(): Promise<void>;
}

export type PluginFactory = (deps: PluginDeps) => Promise<NodePlugin>;
