// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IRelayStaking} from "../IRelayStaking.sol";

/// @title StakingBase
/// @notice What every RelayStaking module shares: governance (the owner: a timelock or multisig in production,
///         never an EOA, since it elects who holds the relay key), the EIP-712 domain every signature here is
///         made under, reentrancy protection of the token transfers, and the basis-point denominator.
abstract contract StakingBase is IRelayStaking, EIP712, Ownable2Step, ReentrancyGuard {
    /// @notice Denominator of every basis-point parameter.
    uint256 public constant BPS = 10_000;

    /// @param initialOwner Governance.
    constructor(address initialOwner) EIP712("MpcRelayStaking", "1") Ownable(initialOwner) {}

    /// @dev The signer of `digest`, or zero for a malformed or high-s signature (OpenZeppelin ECDSA's rules).
    function _recover(bytes32 digest, bytes calldata signature) internal pure returns (address signer) {
        (signer,,) = ECDSA.tryRecoverCalldata(digest, signature);
    }
}
