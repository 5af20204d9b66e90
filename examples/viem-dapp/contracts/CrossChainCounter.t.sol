// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MpcRelayTestKit} from "@mpc-relay/contracts/testing/MpcRelayTestKit.sol";
import {CrossChainCounter} from "./CrossChainCounter.sol";

/// @notice The counter in a Hardhat Solidity test: two chain ids in one EVM, delivery on demand.
contract CrossChainCounterTest is MpcRelayTestKit {
    uint64 private constant A = 1;
    uint64 private constant B = 2;
    CrossChainCounter private counterA;
    CrossChainCounter private counterB;

    function setUp() external {
        uint64[] memory ids = new uint64[](2);
        ids[0] = A;
        ids[1] = B;
        deployGateways(ids);
        onChain(A);
        counterA = new CrossChainCounter(address(source(A)), address(target(A)));
        onChain(B);
        counterB = new CrossChainCounter(address(source(B)), address(target(B)));
        counterB.setPeer(A, address(counterA));
        onChain(A);
        counterA.setPeer(B, address(counterB));
    }

    function test_IncrementArrives() external {
        counterA.increment{value: counterA.quote(B)}(B, 4);
        if (deliverAll() != 1) revert("expected one delivery");
        if (counterB.received(A) != 4) revert("the increment did not arrive");
    }

    function test_IncrementOverTheCapFails() external {
        onChain(B);
        counterB.setCap(1);
        onChain(A);
        counterA.increment{value: counterA.quote(B)}(B, 4);
        (uint256 delivered, uint256 failed) = deliverAllowingFailures();
        if (delivered != 0 || failed != 1) revert("expected one failure");
        if (counterB.received(A) != 0) revert("a refused increment must not count");
    }
}
