/** Waiting for a transaction this process sent, with one error when it reverted. */
import type { Hex, PublicClient, TransactionReceipt } from "viem";

/** Waits for a transaction's receipt and throws, naming `what` and the hash, when it reverted. */
export async function confirmSuccess(client: PublicClient, hash: Hex, what: string, pollingInterval?: number): Promise<TransactionReceipt> {
  const receipt = await client.waitForTransactionReceipt({ hash, ...(pollingInterval === undefined ? {} : { pollingInterval }) });
  if (receipt.status !== "success") throw new Error(`${what} reverted (${hash})`);
  return receipt;
}
