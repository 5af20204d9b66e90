/**
 * Appoints the guardian (pause and revoke at once, nothing else) of both gateways (Gateways.ts).
 *
 * Parameter (module "GatewayGuardian"): guardian, required.
 * setGuardian is owner-only, so run this module only while the deployer owns the gateways; with another
 * owner (a timelock) that owner calls setGuardian itself. Deployed into the same deployment id as the
 * gateways, it reuses them (nothing is redeployed).
 */
import { buildModule } from "@nomicfoundation/ignition-core";
import GatewaysModule from "./Gateways.ts";

export default buildModule("GatewayGuardian", (m) => {
  const { sourceGateway, targetGateway } = m.useModule(GatewaysModule);
  const guardian = m.getParameter<string>("guardian");
  m.call(sourceGateway, "setGuardian", [guardian], { id: "SourceGateway_setGuardian" });
  m.call(targetGateway, "setGuardian", [guardian], { id: "TargetGateway_setGuardian" });
  return { sourceGateway, targetGateway };
});
