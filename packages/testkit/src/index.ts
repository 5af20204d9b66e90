/** The mpc-relay test kit: gateways on in-process chains, a test or threshold relay key, explicit delivery. */
export { mpcAttester, testKeyAttester, type Attester, type GatewayTypedData } from "./attesters.ts";
export { MpcRelayTestKit, TestKitError, type Delivery, type Failure, type ForkSpec, type KitChain, type KitChainClients, type KitChainInput, type TestKitOptions } from "./kit.ts";
export type { DecodedRevert } from "@mpc-relay/sdk";
