/** Failed checks of the OT layer; the caller bans the counterparty for this key. */

/** The pairwise setup (base OT) failed a check or got a malformed flow. */
export class MulSetupError extends Error {
  constructor(reason: string) {
    super(`multiplication setup failed: ${reason}`);
    this.name = "MulSetupError";
  }
}

/** The OT-extension message was malformed or failed the KOS consistency check. */
export class OtExtensionCheckError extends Error {
  constructor(reason: string) {
    super(`OT extension check failed: ${reason}`);
    this.name = "OtExtensionCheckError";
  }
}
