//! What both importer targets check: an import file is untrusted bytes. Parsing never panics;
//! a file that parses and validates imports into a real (in-memory SQLite) store; a file that
//! is refused gets a sentence and leaves the store exactly as it was.

use opencode_nexus::engine::error::Error;
use opencode_nexus::engine::portability::{import_bytes, parse_import, ImportFormat};
use opencode_nexus::engine::store::Store;

/// Inputs larger than this are refused before parsing (checked too: the refusal is a sentence).
const LIMIT: u64 = 1 << 20;

pub fn check(bytes: &[u8], format: ImportFormat) {
    let parsed = parse_import(bytes, format, LIMIT);
    let mut store = Store::open_in_memory().expect("in-memory store");
    let mut progress = |_: u64, _: u64| true;
    let imported = import_bytes(&mut store, bytes, format, LIMIT, &mut progress);
    let conversations = store.count_conversations().expect("count");
    match (&parsed, &imported) {
        (Ok((_, batch)), Ok(report)) => {
            assert_eq!(
                report.conversations_imported as usize,
                batch.conversations.len(),
                "every parsed conversation is imported into an empty store"
            );
            assert_eq!(conversations as u64, report.conversations_imported);
        }
        (Ok(_), Err(e)) => {
            // Only the checks that need the store (attachment hashes, links) may still refuse
            // a parsed file, and then with the importer's sentence, never a database error.
            assert!(
                matches!(e, Error::BadImport { .. }),
                "a parsed file failed to import with {e:?}"
            );
            assert_eq!(conversations, 0, "a refused import changed the store");
        }
        (Err(e), _) => {
            assert!(
                matches!(e, Error::BadImport { .. }),
                "refused with {e:?} instead of the importer's sentence"
            );
            assert!(imported.is_err(), "import accepted what parsing refused");
            assert!(!e.to_string().trim().is_empty());
            assert_eq!(conversations, 0, "a refused import changed the store");
        }
    }
}
