//! Compile-time behaviour of the macros: what compiles, and the error every
//! misuse produces. Refresh the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p mcp-macros --test ui` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
