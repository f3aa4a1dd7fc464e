//! Checksum and structure validators (placeholder; being written).
