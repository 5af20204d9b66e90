// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// @title GuardianRole
/// @notice Splits a gateway's powers: the owner (governance, a timelock in production) configures, and a
///         guardian (a fast multisig or monitoring key) may only stop things at once: pause, or revoke a key.
///         Stopping is all a guardian can do, so a leaked guardian key costs availability, never funds or
///         messages; resuming and reconfiguring stay with governance and its delay.
/// @dev The owner holds the guardian's powers too, so a gateway without a separate guardian still has its brake.
abstract contract GuardianRole is Ownable2Step {
    address private _guardian;

    /// @notice Governance appointed `guardian` (zero: nobody but the owner).
    event GuardianSet(address indexed guardian);

    /// @notice The caller is neither the guardian nor the owner.
    error NotGuardian(address caller);

    modifier onlyGuardian() {
        if (msg.sender != _guardian && msg.sender != owner()) revert NotGuardian(msg.sender);
        _;
    }

    /// @notice Appoints the guardian; zero leaves the emergency powers with the owner alone.
    /// @param newGuardian The new guardian.
    function setGuardian(address newGuardian) external onlyOwner {
        _guardian = newGuardian;
        emit GuardianSet(newGuardian);
    }

    /// @notice The account that may pause and revoke at once besides the owner.
    /// @return The guardian (zero if none).
    function guardian() external view returns (address) {
        return _guardian;
    }
}
