// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// `<=` states the bounds as written.
// solhint-disable gas-strict-inequalities

/// @title RLPReader
/// @notice Reads Ethereum's recursive length prefix encoding in memory: enough to walk block headers, state and
///         storage trie nodes and accounts. Every read is bounds-checked against the enclosing item, and anything
///         malformed (a length past the end, a non-canonical short form) reverts with InvalidRlp.
/// @dev An item is a (memory pointer, length) pair over the encoded bytes, header included.
library RLPReader {
    struct Item {
        uint256 ptr; // memory address of the item's first byte (its prefix)
        uint256 len; // length of the whole item, prefix included
    }

    /// @notice The bytes are not valid RLP (or not the kind of item expected).
    error InvalidRlp();

    /// @notice The whole of `data` as one item; it must be exactly one RLP item.
    function toItem(bytes memory data) internal pure returns (Item memory item) {
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := add(data, 0x20)
        }
        item = Item(ptr, data.length);
        if (data.length == 0 || _itemLength(ptr, data.length) != data.length) revert InvalidRlp();
    }

    /// @notice The items of a list.
    function readList(Item memory item) internal pure returns (Item[] memory items) {
        (uint256 offset, uint256 length, bool isList) = _header(item);
        if (!isList) revert InvalidRlp();
        uint256 count;
        for (uint256 at = offset; at < offset + length; ++count) {
            at += _itemLength(item.ptr + at, offset + length - at);
        }
        items = new Item[](count);
        uint256 ptr = item.ptr + offset;
        for (uint256 i = 0; i < count; ++i) {
            uint256 size = _itemLength(ptr, item.ptr + offset + length - ptr);
            items[i] = Item(ptr, size);
            ptr += size;
        }
    }

    /// @notice The payload of a string item, copied.
    function readBytes(Item memory item) internal pure returns (bytes memory out) {
        (uint256 offset, uint256 length, bool isList) = _header(item);
        if (isList) revert InvalidRlp();
        out = new bytes(length);
        uint256 from = item.ptr + offset;
        assembly ("memory-safe") {
            mcopy(add(out, 0x20), from, length)
        }
    }

    /// @notice A string item of at most 32 bytes as a big-endian unsigned integer.
    function readUint(Item memory item) internal pure returns (uint256 value) {
        (uint256 offset, uint256 length, bool isList) = _header(item);
        if (isList || length > 32) revert InvalidRlp();
        uint256 from = item.ptr + offset;
        assembly ("memory-safe") {
            if length {
                value := shr(mul(8, sub(32, length)), mload(from))
            }
        }
    }

    /// @notice A 32-byte string item.
    function readBytes32(Item memory item) internal pure returns (bytes32 value) {
        (uint256 offset, uint256 length, bool isList) = _header(item);
        if (isList || length != 32) revert InvalidRlp();
        uint256 from = item.ptr + offset;
        assembly ("memory-safe") {
            value := mload(from)
        }
    }

    /// @notice Whether the item is the empty string (0x80), as an absent branch child is.
    function isEmpty(Item memory item) internal pure returns (bool) {
        (, uint256 length, bool isList) = _header(item);
        return !isList && length == 0;
    }

    /// @dev Where the payload starts (after the prefix), its length, and whether the item is a list.
    function _header(Item memory item) private pure returns (uint256 offset, uint256 length, bool isList) {
        uint256 prefix = _byteAt(item.ptr);
        if (prefix < 0x80) return (0, 1, false);
        if (prefix < 0xb8) {
            length = prefix - 0x80;
            if (length == 1 && _byteAt(item.ptr + 1) < 0x80) revert InvalidRlp(); // one byte below 0x80 is itself
            return (1, length, false);
        }
        if (prefix < 0xc0) {
            (offset, length) = _longLength(item.ptr, prefix - 0xb7);
            return (offset, length, false);
        }
        if (prefix < 0xf8) return (1, prefix - 0xc0, true);
        (offset, length) = _longLength(item.ptr, prefix - 0xf7);
        return (offset, length, true);
    }

    /// @dev The length of the item at `ptr`, which must fit in `available` bytes.
    function _itemLength(uint256 ptr, uint256 available) private pure returns (uint256 size) {
        if (available == 0) revert InvalidRlp();
        (uint256 offset, uint256 length,) = _header(Item(ptr, available));
        size = offset + length;
        if (size > available) revert InvalidRlp();
    }

    /// @dev A long form: `lengthBytes` big-endian bytes after the prefix give the payload length (>= 56, no zeros).
    function _longLength(uint256 ptr, uint256 lengthBytes) private pure returns (uint256 offset, uint256 length) {
        if (lengthBytes > 4 || _byteAt(ptr + 1) == 0) revert InvalidRlp();
        for (uint256 i = 1; i <= lengthBytes; ++i) {
            length = (length << 8) | _byteAt(ptr + i);
        }
        if (length < 56) revert InvalidRlp();
        offset = 1 + lengthBytes;
    }

    function _byteAt(uint256 ptr) private pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := byte(0, mload(ptr))
        }
    }
}
