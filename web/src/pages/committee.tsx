/** The staking contract's view: the committee of the active epoch and the slashes it recorded. */
import type { StakingView } from "../../../relayer/explorer/api-types.ts";
import { Badge, Hash, MaybeHash, TxRef } from "../components.tsx";
import { useChains } from "../config.ts";
import { ether, shortHash, yesNo } from "../format.ts";

export function Committee({ staking }: { staking: StakingView }) {
  const chains = useChains();
  return (
    <>
      <section class="card" aria-label="Committee">
        <h2>Committee</h2>
        <dl class="facts inline">
          <dt>Staking contract</dt>
          <dd>
            <Hash value={staking.contract} /> on {chains.name(staking.chainId)}
          </dd>
          <dt>Epoch</dt>
          <dd>
            {staking.activeEpoch} active / {staking.latestEpoch} latest
          </dd>
          <dt>Threshold</dt>
          <dd>{staking.threshold}</dd>
          <dt>Relay</dt>
          <dd>
            <MaybeHash value={staking.relay} />
          </dd>
          <dt>Blocks</dt>
          <dd>
            {staking.startBlock} – {staking.endBlock}
          </dd>
        </dl>
        {staking.members.length === 0 ? (
          <p class="empty">The committee has no members.</p>
        ) : (
          <div class="table-wrap">
            <table class="list">
              <thead>
                <tr>
                  <th class="num">Index</th>
                  <th>Operator</th>
                  <th>Peer id</th>
                  <th class="num">Stake</th>
                  <th class="num">Unbonding</th>
                  <th>Removed</th>
                  <th>Identity verified</th>
                </tr>
              </thead>
              <tbody>
                {staking.members.map((m) => (
                  <tr key={m.operator} data-removed={String(m.removed)}>
                    <td class="num">{m.index}</td>
                    <td>
                      <Hash value={m.operator} />
                    </td>
                    <td>
                      <span class="hash" title={m.peerId}>
                        {shortHash(m.peerId, 8, 6)}
                      </span>
                    </td>
                    <td class="num">{ether(m.stake)}</td>
                    <td class="num">{ether(m.unbonding)}</td>
                    <td>{m.removed ? <Badge state="failed" label="removed" /> : "no"}</td>
                    <td>{yesNo(m.identityVerified)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section class="card" aria-label="Slashes">
        <h2>Slashes</h2>
        {!staking.slashesComplete && <p class="muted">Still searching older blocks: searched through block {staking.slashesThrough}.</p>}
        {staking.slashes.length === 0 ? (
          <p class="empty">{staking.slashesComplete ? "No slashes" : "No slashes found yet"}</p>
        ) : (
          <div class="table-wrap">
            <table class="list">
              <thead>
                <tr>
                  <th>Operator</th>
                  <th class="num">Amount</th>
                  <th>Kind</th>
                  <th>Transaction</th>
                  <th class="num">Block</th>
                </tr>
              </thead>
              <tbody>
                {staking.slashes.map((s) => (
                  <tr key={`${s.txHash}-${s.operator}`}>
                    <td>
                      <Hash value={s.operator} />
                    </td>
                    <td class="num">{ether(s.amount)}</td>
                    <td>{s.kind}</td>
                    <td>
                      <TxRef chainId={staking.chainId} hash={s.txHash} />
                    </td>
                    <td class="num">{s.blockNumber}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
