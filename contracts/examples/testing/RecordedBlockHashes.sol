// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IBlockHashOracle} from "../../staking/proofs/ISourceVerifier.sol";

/// @title RecordedBlockHashes
/// @notice Test-only block hash oracle: its owner records another chain's block hashes. It stands for the trust
///         anchor a deployment plugs in (a light client, a rollup's output roots), which tests cannot run.
contract RecordedBlockHashes is IBlockHashOracle, Ownable {
    mapping(uint256 number => bytes32 hash) private _hashes;

    /// @param owner_ Who records hashes.
    constructor(address owner_) Ownable(owner_) {}

    /// @notice Records the hash of block `number`.
    /// @param number The block number.
    /// @param hash Its hash.
    function record(uint256 number, bytes32 hash) external onlyOwner {
        _hashes[number] = hash;
    }

    /// @inheritdoc IBlockHashOracle
    function blockHash(uint256 number) external view returns (bytes32) {
        return _hashes[number];
    }
}
