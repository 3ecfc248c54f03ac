//! What a resource handler may return, and how it becomes contents.

use mcp_core::content::{BlobResourceContents, ResourceContents, TextResourceContents};

use super::ResourceError;

#[diagnostic::on_unimplemented(
    message = "`{Self}` is not resource contents",
    note = "return `String` for text, `Vec<u8>` for binary data, `Structured<T>`, `ResourceContents`, a `Vec` of those, or `Result<T, ResourceError>`"
)]
/// A value a resource handler can return: `String` (text), `Vec<u8>`
/// (binary), `ResourceContents`, a `Vec` of those, or a `Result` of those
/// with a [`ResourceError`] (or anything `Display`, read as a failure).
pub trait IntoResourceResult {
    /// Converts the value into the contents of the resource at `uri`.
    ///
    /// # Errors
    /// The resource could not be read.
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError>;
}

fn text(uri: &str, mime_type: Option<&str>, text: String) -> ResourceContents {
    ResourceContents::Text(TextResourceContents {
        uri: uri.to_owned(),
        mime_type: mime_type.map(str::to_owned),
        text,
        meta: None,
    })
}

impl IntoResourceResult for String {
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        Ok(vec![text(uri, mime_type, self)])
    }
}

impl IntoResourceResult for &'static str {
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        Ok(vec![text(uri, mime_type, self.to_owned())])
    }
}

impl IntoResourceResult for Vec<u8> {
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        use base64::Engine as _;
        Ok(vec![ResourceContents::Blob(BlobResourceContents {
            uri: uri.to_owned(),
            mime_type: mime_type.map(str::to_owned),
            blob: base64::engine::general_purpose::STANDARD.encode(self),
            meta: None,
        })])
    }
}

impl IntoResourceResult for ResourceContents {
    fn into_contents(
        self,
        _uri: &str,
        _mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        Ok(vec![self])
    }
}

impl IntoResourceResult for Vec<ResourceContents> {
    fn into_contents(
        self,
        _uri: &str,
        _mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        Ok(self)
    }
}

impl<T: serde::Serialize> IntoResourceResult for crate::Structured<T> {
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        serde_json::to_string(&self.0)
            .map(|json| vec![text(uri, mime_type.or(Some("application/json")), json)])
            .map_err(|e| ResourceError::Failed(format!("could not encode JSON: {e}")))
    }
}

impl<T: IntoResourceResult> IntoResourceResult for Result<T, ResourceError> {
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        self?.into_contents(uri, mime_type)
    }
}
