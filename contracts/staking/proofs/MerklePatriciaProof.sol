// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {RLPReader} from "./RLPReader.sol";

// `>=` states the bounds as written.
// solhint-disable gas-strict-inequalities

/// @title MerklePatriciaProof
/// @notice Verifies an eth_getProof path through a secure Merkle-Patricia trie (keys are keccak256 hashes): either
///         the key's value, or that the key is absent. Absence is proven by where the path stops: an empty branch
///         child, or a leaf or extension whose path leaves the key's, and that node must be the proof's last.
/// @dev Every node is referenced by its hash, as in tries whose keys are 32-byte hashes (a node is embedded in its
///      parent only when its encoding is under 32 bytes, which a leaf with a near-full 32-byte path never is);
///      a proof relying on an embedded node is refused.
library MerklePatriciaProof {
    using RLPReader for RLPReader.Item;

    /// @notice Root of a trie with no entries: keccak256 of the RLP empty string.
    bytes32 internal constant EMPTY_TRIE_ROOT = 0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421;

    /// @notice The proof does not lead from the root to the key (or its absence).
    error InvalidProof();

    /// @notice The value stored under `key` in the trie with root `root` (the leaf's RLP payload), or empty when
    ///         the proof shows the key absent.
    /// @param root The trie's root hash.
    /// @param key The 32-byte key (keccak256 of the address or storage slot).
    /// @param proof The nodes from the root down, as eth_getProof returns them.
    function get(bytes32 root, bytes32 key, bytes[] memory proof) internal pure returns (bytes memory value) {
        if (proof.length == 0 && root == EMPTY_TRIE_ROOT) return "";
        bytes32 expected = root;
        uint256 nibble; // position in the key, 0 to 64
        uint256 count = proof.length;
        for (uint256 i = 0; i < count; ++i) {
            bytes memory node = proof[i];
            if (keccak256(node) != expected) revert InvalidProof();
            RLPReader.Item[] memory items = RLPReader.toItem(node).readList();
            bool last = i == count - 1;
            if (items.length == 17) {
                if (nibble == 64) revert InvalidProof(); // secure tries keep no values in branches
                RLPReader.Item memory child = items[_nibble(key, nibble)];
                if (child.isEmpty()) return _absent(last);
                expected = child.readBytes32();
                ++nibble;
                continue;
            }
            if (items.length != 2) revert InvalidProof();
            (bool leaf, uint256 matched, bool diverged) = _followPath(items[0].readBytes(), key, nibble);
            if (diverged) return _absent(last);
            nibble += matched;
            if (leaf) {
                if (nibble != 64 || !last) revert InvalidProof();
                return items[1].readBytes();
            }
            expected = items[1].readBytes32();
        }
        revert InvalidProof();
    }

    /// @dev An absence is proven only by the proof's last node.
    function _absent(bool last) private pure returns (bytes memory) {
        if (!last) revert InvalidProof();
        return "";
    }

    /// @dev Decodes a leaf or extension's hex-prefix path and compares it with the key from `from`: whether it is a
    ///      leaf, how many nibbles it covers, and whether it leaves the key (which proves the key absent).
    function _followPath(bytes memory encoded, bytes32 key, uint256 from)
        private
        pure
        returns (bool leaf, uint256 length, bool diverged)
    {
        if (encoded.length == 0) revert InvalidProof();
        uint256 flag = uint8(encoded[0]) >> 4;
        if (flag > 3) revert InvalidProof();
        leaf = flag >= 2;
        bool odd = flag % 2 == 1;
        if (!odd && uint8(encoded[0]) & 0x0f != 0) revert InvalidProof();
        length = encoded.length * 2 - (odd ? 1 : 2);
        // Keys are 64 nibbles: a leaf's path ends the key, an extension's stops before its end.
        if (leaf ? from + length != 64 : from + length >= 64) revert InvalidProof();
        for (uint256 i = 0; i < length; ++i) {
            uint256 at = i + (odd ? 1 : 2);
            uint256 pathNibble = at % 2 == 0 ? uint8(encoded[at / 2]) >> 4 : uint8(encoded[at / 2]) & 0x0f;
            if (pathNibble != _nibble(key, from + i)) return (leaf, length, true);
        }
    }

    function _nibble(bytes32 key, uint256 index) private pure returns (uint256) {
        return (uint256(key) >> (252 - index * 4)) & 0x0f;
    }
}
