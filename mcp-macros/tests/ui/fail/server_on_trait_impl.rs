use mcp_server::prelude::*;

trait Greeter {
    fn greet(&self) -> String;
}

struct S;

#[mcp_server]
impl Greeter for S {
    fn greet(&self) -> String {
        String::new()
    }
}

fn main() {}
