//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the fuzz targets'
//! own checks, so that `cargo test` on stable keeps every seed and every past finding
//! passing without nightly or cargo-fuzz.

#[path = "../fuzz/checks/mod.rs"]
mod checks;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Runs `check` on every file of the target's corpus and reports each failing file by name.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    entries.sort();
    assert!(!entries.is_empty(), "{}: no corpus", dir.display());
    let mut failed = Vec::new();
    for path in &entries {
        let input = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if catch_unwind(AssertUnwindSafe(|| check(&input))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} {target} inputs failed: {failed:#?}",
        failed.len(),
        entries.len()
    );
}

#[test]
fn parse_corpus_stays_within_the_limit() {
    replay("parse", checks::parse);
}

#[cfg(feature = "hub")]
#[test]
fn hub_corpus_agrees_with_the_model() {
    replay("hub", checks::hub::hub);
}

#[test]
fn parse_chunked_corpus_is_chunking_invariant() {
    replay("parse_chunked", checks::parse_chunked);
}

#[test]
fn differential_corpus_agrees_with_the_oracle() {
    replay("differential", checks::differential);
}

#[test]
fn roundtrip_corpus_decodes_to_what_was_built() {
    replay("roundtrip", checks::roundtrip);
}

#[cfg(feature = "stream")]
#[test]
fn decode_stream_corpus_yields_what_the_parser_yields() {
    replay("decode_stream", checks::decode::decode_stream);
}
