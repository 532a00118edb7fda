// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title What to do about the OpenZeppelin errors that JouleLedger's contracts raise
/// @notice Nothing implements this interface: it re-declares OpenZeppelin's errors (same
/// signatures, so same selectors) only to give each one JouleLedger's hint as NatSpec, next
/// to the hints of the protocol's own errors in the other interfaces. The build
/// (`scripts/build_contracts.py`) ships every error's notice in the userdoc of each
/// contract that can raise it; the SDK formats it with the decoded arguments: `{name}` is
/// an argument, `{name:cpt}` a token amount in wei, `{name:time}` a unix time,
/// `{name:state}` a job state.
interface IOpenZeppelinErrors {
    /// @notice insufficient CPT balance: {sender} holds {balance:cpt} but needs {needed:cpt}; get
    /// tokens first (a transfer, or on a devnet `jl faucet {sender} AMOUNT`) or move less
    error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed);

    /// @notice insufficient CPT allowance: {spender} may spend {allowance:cpt} but needs
    /// {needed:cpt}; approve the market first or post with a permit (the default of `jl job post`)
    error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed);

    /// @notice tokens cannot go to {receiver}: check the recipient address
    error ERC20InvalidReceiver(address receiver);

    /// @notice tokens cannot come from {sender}: check the sender address
    error ERC20InvalidSender(address sender);

    /// @notice {spender} cannot be approved: check the spender address
    error ERC20InvalidSpender(address spender);

    /// @notice {approver} cannot approve: check the owner address
    error ERC20InvalidApprover(address approver);

    /// @notice the permit's deadline {deadline:time} has passed: sign a new permit with a later
    /// deadline
    error ERC2612ExpiredSignature(uint256 deadline);

    /// @notice the permit recovers to {signer}, not the owner {owner}: sign with the owner's key
    /// over the right chain id, token name and address, and the owner's current token.nonces(owner)
    error ERC2612InvalidSigner(address signer, address owner);

    /// @notice {account}'s current nonce is {currentNonce}: sign again with that nonce
    error InvalidAccountNonce(address account, uint256 currentNonce);

    /// @notice {account} lacks the role {neededRole}: send from an account that has it, or have an
    /// admin call grantRole(role, account)
    error AccessControlUnauthorizedAccount(address account, bytes32 neededRole);

    /// @notice renounceRole must be called by the account itself
    error AccessControlBadConfirmation();

    /// @notice the signature does not recover to any signer: sign again
    error ECDSAInvalidSignature();

    /// @notice the signature is {length} bytes, expected 65
    error ECDSAInvalidSignatureLength(uint256 length);

    /// @notice the signature is malleable (high s): sign with a library that produces low-s
    /// signatures
    error ECDSAInvalidSignatureS(bytes32 s);

    /// @notice the contract is paused: wait until an admin unpauses it (withdrawals keep working)
    error EnforcedPause();

    /// @notice the contract is not paused
    error ExpectedPause();

    /// @notice a call re-entered a protected function
    error ReentrancyGuardReentrantCall();

    /// @notice the token {token} refused the transfer: check balance and allowance
    error SafeERC20FailedOperation(address token);

    /// @notice {value} does not fit in the {bits} bits the contract stores it in: use a smaller
    /// amount or time
    error SafeCastOverflowedUintDowncast(uint8 bits, uint256 value);

    /// @notice a string the contract keeps as a short string (the EIP-712 name or version) is
    /// longer than 31 bytes: deploy with a shorter one
    error InvalidShortString();

    /// @notice {str} is longer than 31 bytes, too long for a short string (the EIP-712 name or
    /// version): deploy with a shorter one
    error StringTooLong(string str);
}
