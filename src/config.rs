//! sluice.toml: the gateway's configuration (being written).
