/**
 * The PingPong example on top of the gateways (Gateways.ts), owned by the gateways' owner (read from
 * SourceGateway, so the two cannot differ). No parameters of its own: see Gateways.ts.
 *
 * Routes (SourceGateway.setDestination, PingPong.setPeer) need the remote chain's deployment and are opened
 * afterwards by configureRoute (relayer/deploy/deploy.ts) or by the owner.
 */
import { buildModule } from "@nomicfoundation/ignition-core";
import GatewaysModule from "./Gateways.ts";

export default buildModule("PingPong", (m) => {
  const { sourceGateway, targetGateway } = m.useModule(GatewaysModule);
  const owner = m.staticCall(sourceGateway, "owner", [], 0, { id: "SourceGateway_owner" });
  const pingPong = m.contract("PingPong", [sourceGateway, targetGateway, owner]);
  return { sourceGateway, targetGateway, pingPong };
});
