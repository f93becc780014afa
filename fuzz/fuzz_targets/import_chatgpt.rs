//! Fuzz target for the ChatGPT importer (`conversations.json`): see `import_common.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opencode_nexus::engine::portability::ImportFormat;

mod import_common;

fuzz_target!(|bytes: &[u8]| {
    import_common::check(bytes, ImportFormat::ChatGpt);
});
