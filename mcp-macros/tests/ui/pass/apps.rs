use mcp_server::prelude::*;

struct Crm;

#[mcp_server(name = "crm")]
impl Crm {
    /// The contact card.
    #[mcp_resource(
        uri = "ui://crm/contact",
        name = "contact_card",
        ui(
            csp(
                connect_domains = ["https://api.example.com", "wss://live.example.com"],
                resource_domains = ["https://*.cdn.example.com"],
                frame_domains = ["https://www.youtube.com"],
                base_uri_domains = ["https://base.example.com"]
            ),
            permissions(camera, microphone, geolocation, clipboard_write),
            domain = "crm.example.com",
            prefers_border = false
        )
    )]
    async fn card(&self) -> &'static str {
        "<!doctype html><html></html>"
    }

    /// The pipeline board, with the defaults.
    #[mcp_resource("ui://crm/pipeline")]
    async fn board(&self, _ctx: &RequestContext) -> Result<String, ResourceError> {
        Ok("<!doctype html>".to_owned())
    }

    /// Shows a contact.
    #[mcp_tool(read_only, ui = "ui://crm/contact", visibility = ["model", "app"])]
    async fn show(&self) -> String {
        String::new()
    }

    /// Saves a field, from the card.
    #[mcp_tool(ui = "ui://crm/contact", visibility = ["app"])]
    async fn save(&self, /** The field. */ field: String) -> String {
        field
    }
}

/// A free tool may name a view registered elsewhere.
#[mcp_tool(ui = "ui://crm/pipeline")]
async fn pipeline() -> String {
    String::new()
}

fn main() {
    let _ = Server::builder().definition(Crm).tool(pipeline::tool()).build();
}
