#![no_main]
// The input handling lives in hvaudit::fuzzing, shared with tests/fuzz_corpus.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| hvaudit::fuzzing::inventory_json(data));
