// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarket} from "../interfaces/IJobMarket.sol";

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

    /// @notice hashStruct(record): every field is static, so its encoding is the calldata
    /// struct itself, copied behind the type hash.
    function hash(IJobMarket.UsageRecord calldata record) internal pure returns (bytes32) {
        return keccak256(abi.encode(RECORD_TYPEHASH, record));
    }

    /// @notice hashStruct(UsageBatch) from the records' struct hashes (EIP-712 arrays are
    /// the hash of their elements' hashes, concatenated).
    function hashBatch(bytes32[] memory recordHashes) internal pure returns (bytes32) {
        return keccak256(abi.encode(BATCH_TYPEHASH, keccak256(abi.encodePacked(recordHashes))));
    }
}
