// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {VM, Vm} from "./Vm.sol";

/// @notice The part of forge-std's StdInvariant and assertions that our suites need.
/// @dev Before an invariant test forge calls the public views below on the test contract
/// (a missing or empty list means "no restriction"): it then calls random selectors of the
/// target contracts from random senders, `depth` calls per run, and checks every
/// `invariant_*` function after each call. An invariant fails by reverting.
abstract contract InvariantBase {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    Vm internal constant vm = VM;

    address[] private _targetedContracts;
    address[] private _targetedSenders;
    address[] private _excludedContracts;
    address[] private _excludedSenders;
    FuzzSelector[] private _targetedSelectors;

    // --- deployment ---------------------------------------------------------------------

    /// @dev Deploys the SDK's artifact `name` (`sdk/jouleledger/artifacts/<name>.json`,
    /// read under foundry.toml's `fs_permissions`) with `constructorArgs`: the bytecode
    /// users get, which tests/build checks against the sources. So forge compiles only the
    /// suites, never the contracts a second time.
    function deployShipped(string memory name, bytes memory constructorArgs) internal returns (address deployed) {
        string memory artifact = vm.readFile(string.concat("sdk/jouleledger/artifacts/", name, ".json"));
        bytes memory code = bytes.concat(vm.parseJsonBytes(artifact, ".bytecode"), constructorArgs);
        assembly ("memory-safe") {
            deployed := create(0, add(code, 0x20), mload(code))
        }
        require(deployed != address(0), string.concat("deploying ", name, " reverted"));
    }

    // --- registration (call from setUp) ------------------------------------------------

    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetedSelectors.push(selector);
    }

    function targetSender(address sender) internal {
        _targetedSenders.push(sender);
    }

    function excludeContract(address target) internal {
        _excludedContracts.push(target);
    }

    function excludeSender(address sender) internal {
        _excludedSenders.push(sender);
    }

    // --- what forge reads --------------------------------------------------------------

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    function targetSenders() public view returns (address[] memory) {
        return _targetedSenders;
    }

    function excludeContracts() public view returns (address[] memory) {
        return _excludedContracts;
    }

    function excludeSenders() public view returns (address[] memory) {
        return _excludedSenders;
    }

    // --- assertions and helpers ----------------------------------------------------------

    error AssertionFailed(string message, uint256 left, uint256 right);

    function assertEq(uint256 left, uint256 right, string memory message) internal pure {
        if (left != right) revert AssertionFailed(message, left, right);
    }

    function assertLe(uint256 left, uint256 right, string memory message) internal pure {
        if (left > right) revert AssertionFailed(message, left, right);
    }

    function assertTrue(bool condition, string memory message) internal pure {
        if (!condition) revert AssertionFailed(message, 0, 1);
    }
}

/// @notice Shared by handlers: map a fuzzed number into [min, max].
function bound(uint256 x, uint256 min, uint256 max) pure returns (uint256) {
    require(min <= max, "bound: min > max");
    uint256 size = max - min;
    return size == type(uint256).max ? x : min + (x % (size + 1));
}
