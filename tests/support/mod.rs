//! Helpers shared by the integration tests; each test binary that needs them
//! declares `mod support;`.

pub mod cli;
pub mod desktop;
pub mod fault_server;
pub mod openapi;
pub mod peers;
pub mod static_server;
