/** The mpc-relay test kit: gateways on in-process chains, a test or threshold relay key, explicit delivery. */
export { mpcAttester, testKeyAttester, type Attester, type GatewayTypedData } from "./attesters.ts";
export { MpcRelayTestKit, type Delivery, type Failure, type ForkSpec, type KitChain, type TestKitOptions } from "./kit.ts";
export { TestKitError, type KitChainClients, type KitChainInput } from "./chains.ts";
export type { DecodedRevert } from "@mpc-relay/sdk";
