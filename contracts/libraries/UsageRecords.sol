// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarketTypes} from "../interfaces/IJobMarketTypes.sol";

/// @title EIP-712 struct hashes of usage records
/// @notice The SDK (jouleledger.records) builds the same hashes; a test compares them.
library UsageRecords {
    bytes32 internal constant RECORD_TYPEHASH = keccak256(
        "UsageRecord(uint256 jobId,address provider,uint64 gpuMillis,uint64 energyMj,uint64 aiTokens,"
        "bytes32 resultHash,uint64 startTime,uint64 endTime,uint8 meterKind,bytes32 gpuIdHash)"
    );

    bytes32 internal constant BATCH_TYPEHASH = keccak256(
        "UsageBatch(UsageRecord[] records)UsageRecord(uint256 jobId,address provider,uint64 gpuMillis,"
        "uint64 energyMj,uint64 aiTokens,bytes32 resultHash,uint64 startTime,uint64 endTime,uint8 meterKind,"
        "bytes32 gpuIdHash)"
    );

    /// @notice hashStruct(record). Every field is static, so the encoding is the type hash
    /// followed by the calldata struct as it is; copying it beats re-encoding each field.
    /// Fields are not range-checked here: a value with dirty high bits hashes to something
    /// no EIP-712 signer produces, so its signature fails; the fields the market uses are
    /// read (and checked) by Solidity.
    function hash(IJobMarketTypes.UsageRecord calldata record) internal pure returns (bytes32 digest) {
        bytes32 typeHash = RECORD_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            calldatacopy(add(ptr, 0x20), record, 0x140) // 10 words
            digest := keccak256(ptr, 0x160)
        }
    }

    /// @notice hashStruct(record) of a batch record, with the batch's provider put back in
    /// after the job id.
    function hash(IJobMarketTypes.BatchRecord calldata record, address provider) internal pure returns (bytes32 digest) {
        bytes32 typeHash = RECORD_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            calldatacopy(add(ptr, 0x20), record, 0x20) // jobId
            mstore(add(ptr, 0x40), provider)
            calldatacopy(add(ptr, 0x60), add(record, 0x20), 0x100) // the 8 words after jobId
            digest := keccak256(ptr, 0x160)
        }
    }

    /// @notice hashStruct(UsageBatch) from the records' struct hashes (EIP-712 arrays are
    /// the hash of their elements' hashes, concatenated).
    function hashBatch(bytes32[] memory recordHashes) internal pure returns (bytes32) {
        return keccak256(abi.encode(BATCH_TYPEHASH, keccak256(abi.encodePacked(recordHashes))));
    }
}
