// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MessageLib} from "../../gateway/MessageLib.sol";

/// @notice Hashes of a chain's blocks, as the staking chain can trust them (a light client, a rollup's output
///         roots, the staking chain's own history): what makes a source chain's state provable here.
interface IBlockHashOracle {
    /// @notice The hash of block `number` of the chain this oracle serves, zero if it does not know it (yet).
    function blockHash(uint256 number) external view returns (bytes32);
}

/// @notice Proves, for one source chain, that its SourceGateway never sent a message and never will.
interface ISourceVerifier {
    /// @notice The message names another chain or gateway than this verifier's.
    error NotThisSource(uint64 srcChainId, address srcGateway);
    /// @notice The header is not of a block whose hash the oracle vouches for.
    error UntrustedBlock(uint256 number);
    /// @notice The state proves no contract at the gateway's address.
    error NoGatewayAccount();
    /// @notice The gateway's sent record holds the message: it was sent.
    error SentAtBlock(bytes32 messageId);
    /// @notice At the proven block the gateway had not reached the message's nonce yet: it could still be sent.
    error NonceNotYetUsed(uint64 nonce, uint256 nextNonce);

    /// @notice The source chain this verifier serves.
    function chainId() external view returns (uint64);

    /// @notice Returns the message's id if `proof` shows it can never be sent from the source; reverts otherwise.
    function provenUnsent(MessageLib.Message calldata message, bytes calldata proof) external view returns (bytes32);
}
