/** The explorer's configuration (/api/config), read once, and what pages ask of it: chain names and explorer links. */
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { ChainInfo, ExplorerConfig } from "../../relayer/explorer/api-types.ts";

export const ConfigContext = createContext<ExplorerConfig | null>(null);

export interface Chains {
  list: ChainInfo[];
  name: (chainId: number) => string;
  /** The chain's block explorer link for a transaction, when the config names one. */
  txUrl: (chainId: number, hash: string) => string | null;
}

export function chainsOf(config: ExplorerConfig | null): Chains {
  const list = config?.chains ?? [];
  const find = (chainId: number) => list.find((c) => c.chainId === chainId);
  return {
    list,
    name: (chainId) => find(chainId)?.name ?? `chain ${chainId}`,
    txUrl: (chainId, hash) => {
      const template = find(chainId)?.txUrl;
      return template === undefined || template === null ? null : template.replaceAll("{hash}", hash);
    },
  };
}

export function useChains(): Chains {
  return chainsOf(useContext(ConfigContext));
}
