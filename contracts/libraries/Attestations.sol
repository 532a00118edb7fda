// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {IJobMarketTypes} from "../interfaces/IJobMarketTypes.sol";

/// @title Who must have signed a usage digest
/// @notice The provider's oracle signer, plus `threshold` attestors of the job's terms.
library Attestations {
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @notice Reverts unless `signature` is `signer`'s and at least the threshold of the
    /// job's terms `t` of `attestorSignatures` are by members of its attestor set (one of
    /// `sets`). Attestor signatures come sorted by address, so that one comparison each
    /// catches duplicates.
    function verify(
        bytes32 digest,
        address signer,
        bytes calldata signature,
        bytes[] calldata attestorSignatures,
        IJobMarketTypes.Terms memory t,
        mapping(uint256 setId => EnumerableSet.AddressSet) storage sets
    ) internal view {
        address recovered = ECDSA.recover(digest, signature);
        if (recovered != signer || signer == address(0)) revert IJobMarketTypes.MarketInvalidSigner(recovered, signer);
        uint256 count = attestorSignatures.length;
        if (count < t.attestorThreshold) {
            revert IJobMarketTypes.MarketAttestorThresholdNotMet(count, t.attestorThreshold);
        }
        address previous = address(0);
        for (uint256 i; i < count; ++i) {
            address attestor = ECDSA.recover(digest, attestorSignatures[i]);
            if (!sets[t.attestorSetId].contains(attestor)) revert IJobMarketTypes.MarketUnknownAttestor(attestor);
            if (attestor == previous) revert IJobMarketTypes.MarketDuplicateAttestor(attestor);
            if (attestor < previous) revert IJobMarketTypes.MarketAttestorsUnsorted(previous, attestor);
            previous = attestor;
        }
    }
}
