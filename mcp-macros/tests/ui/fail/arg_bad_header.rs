use mcp_server::prelude::*;

/// Looks up a region.
#[mcp_tool]
async fn region(#[arg(header = "Region Name")] region: String) -> String {
    region
}

fn main() {}
