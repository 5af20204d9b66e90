// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// @title TestStakeToken
/// @notice Mintable ERC20 used as the stake token on devnets and testnets. Production deployments
///         stake an existing token instead; this one must never back real value.
/// @dev Minting is restricted to the owner and to accounts the owner appointed as minters.
contract TestStakeToken is ERC20, Ownable2Step {
    /// @notice Accounts allowed to mint besides the owner.
    mapping(address account => bool allowed) public isMinter;

    /// @notice The caller is neither the owner nor an appointed minter.
    error NotMinter(address caller);
    /// @notice The zero address cannot be appointed as a minter.
    error ZeroMinter();

    /// @notice Emitted when the owner grants or revokes minting rights.
    event MinterSet(address indexed account, bool indexed allowed);

    /// @param name_ Token name.
    /// @param symbol_ Token symbol.
    /// @param initialOwner Owner who may mint and appoint minters.
    constructor(string memory name_, string memory symbol_, address initialOwner)
        ERC20(name_, symbol_)
        Ownable(initialOwner)
    {}

    /// @notice Grants or revokes minting rights.
    /// @param account Account whose rights change.
    /// @param allowed True to grant, false to revoke.
    function setMinter(address account, bool allowed) external onlyOwner {
        if (account == address(0)) revert ZeroMinter();
        isMinter[account] = allowed;
        emit MinterSet(account, allowed);
    }

    /// @notice Mints new tokens.
    /// @param to Recipient of the new tokens.
    /// @param amount Amount to mint.
    function mint(address to, uint256 amount) external {
        if (msg.sender != owner() && !isMinter[msg.sender]) revert NotMinter(msg.sender);
        _mint(to, amount);
    }
}
