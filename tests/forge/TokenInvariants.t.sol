// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {IComputePowerToken} from "../../contracts/interfaces/IComputePowerToken.sol";
import {InvariantBase, bound} from "./utils/InvariantBase.sol";
import {VM} from "./utils/Vm.sol";

/// @notice Drives the token the way users do: mints, transfers, approvals and
/// transferFrom among a few actors. Amounts are bounded to what can succeed.
contract TokenHandler {
    IComputePowerToken public immutable token;
    address[] public actors;
    uint256 public ghostMinted;

    constructor(IComputePowerToken token_, address[] memory actors_) {
        token = token_;
        actors = actors_;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function mint(uint256 toSeed, uint256 amount) external {
        amount = bound(amount, 0, 1e30);
        ghostMinted += amount;
        token.mint(_actor(toSeed), amount);
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        address from = _actor(fromSeed);
        amount = bound(amount, 0, token.balanceOf(from));
        VM.prank(from);
        token.transfer(_actor(toSeed), amount);
    }

    function approve(uint256 ownerSeed, uint256 spenderSeed, uint256 amount) external {
        VM.prank(_actor(ownerSeed));
        token.approve(_actor(spenderSeed), amount);
    }

    function transferFrom(uint256 spenderSeed, uint256 fromSeed, uint256 toSeed, uint256 amount)
        external
    {
        address spender = _actor(spenderSeed);
        address from = _actor(fromSeed);
        uint256 allowed = token.allowance(from, spender);
        uint256 balance = token.balanceOf(from);
        amount = bound(amount, 0, allowed < balance ? allowed : balance);
        VM.prank(spender);
        token.transferFrom(from, _actor(toSeed), amount);
    }

    function _actor(uint256 seed) private view returns (address) {
        return actors[seed % actors.length];
    }
}

contract TokenInvariants is InvariantBase {
    uint256 internal constant INITIAL_SUPPLY = 1_000_000e18;

    IComputePowerToken internal token;
    TokenHandler internal handler;

    function setUp() public {
        // the bytecode we ship (see deployShipped)
        token = IComputePowerToken(deployShipped("ComputePowerToken", abi.encode(INITIAL_SUPPLY)));
        address[] memory actors = new address[](4);
        for (uint256 i = 0; i < actors.length; i++) {
            actors[i] = address(uint160(0xA11CE + i));
            token.transfer(actors[i], INITIAL_SUPPLY / actors.length);
        }
        handler = new TokenHandler(token, actors);
        IAccessControl(address(token)).grantRole(token.MINTER_ROLE(), address(handler));

        // Every state-changing function of the handler is an action (forge never calls
        // views), so no selector list to keep in step with it.
        targetContract(address(handler));
    }

    function invariant_balancesSumToTotalSupply() public view {
        uint256 sum = token.balanceOf(address(this)) + token.balanceOf(address(handler));
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            sum += token.balanceOf(handler.actors(i));
        }
        assertEq(sum, token.totalSupply(), "sum of balances != totalSupply");
    }

    function invariant_totalSupplyIsInitialPlusMinted() public view {
        assertEq(token.totalSupply(), INITIAL_SUPPLY + handler.ghostMinted(), "supply != minted");
    }
}
