/**
 * SourceGateway and TargetGateway on one chain.
 *
 * Parameters (module "Gateways"):
 *   owner            owner of both gateways (a timelock in production); default: the deployer (account 0)
 *   feeRecipient     receiver of message fees; default: the deployer. Set it whenever you set owner:
 *                    `npm run deploy` passes the owner, as deployAll always did.
 *   maxPayloadBytes  largest payload SourceGateway accepts; default 10000
 *   relay            address of the MPC network's threshold key that TargetGateway trusts; default: none
 *                    (the zero address), set later by the owner with setRelay after keyGen
 *   rotationDelay    seconds between signed relay rotations; default 86400
 *   retentionWindow  seconds the previous relay stays valid after a rotation, at most rotationDelay; default 3600
 *
 * The guardian is appointed by the GatewayGuardian module (Guardian.ts), which only an owning deployer can run.
 */
import { buildModule } from "@nomicfoundation/ignition-core";

export const GATEWAY_DEFAULTS = {
  maxPayloadBytes: 10_000,
  relay: "0x0000000000000000000000000000000000000000",
  rotationDelay: 86_400n,
  retentionWindow: 3_600n,
} as const;

export default buildModule("Gateways", (m) => {
  const owner = m.getParameter("owner", m.getAccount(0));
  const feeRecipient = m.getParameter("feeRecipient", m.getAccount(0));
  const maxPayloadBytes = m.getParameter("maxPayloadBytes", GATEWAY_DEFAULTS.maxPayloadBytes);
  const relay = m.getParameter<string>("relay", GATEWAY_DEFAULTS.relay);
  const rotationDelay = m.getParameter("rotationDelay", GATEWAY_DEFAULTS.rotationDelay);
  const retentionWindow = m.getParameter("retentionWindow", GATEWAY_DEFAULTS.retentionWindow);

  const sourceGateway = m.contract("SourceGateway", [owner, feeRecipient, maxPayloadBytes]);
  const targetGateway = m.contract("TargetGateway", [owner, relay, rotationDelay, retentionWindow]);
  return { sourceGateway, targetGateway };
});
