//! Fuzz target for the OpenCode Nexus importer (its own JSON export, with presets and
//! attachments): see `import_common.rs`. Format detection runs too (`auto`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use opencode_nexus::engine::portability::ImportFormat;

mod import_common;

fuzz_target!(|bytes: &[u8]| {
    import_common::check(bytes, ImportFormat::Nexus);
    import_common::check(bytes, ImportFormat::Auto);
});
