//! Regex rule pack file model (placeholder; being written).
