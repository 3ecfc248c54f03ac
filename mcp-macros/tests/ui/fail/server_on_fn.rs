use mcp_server::prelude::*;

#[mcp_server]
fn not_an_impl() {}

fn main() {}
