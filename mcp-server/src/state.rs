//! The `requestState` of 2026-07-28 multi round-trip requests: the answers
//! gathered so far, bound to the request that asked for them, signed with
//! HMAC-SHA256, expiring, and size-capped. The client holds it; a changed
//! byte, another tool, other arguments or a stale state is rejected.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use mcp_core::ProtocolError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::arguments::Arguments;

type HmacSha256 = Hmac<Sha256>;

/// How long a state stays valid.
const LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The largest state handed out.
const MAX_STATE: usize = 32 * 1024;

/// The key request states are signed with.
#[derive(Clone)]
pub(crate) struct StateKey([u8; 32]);

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateKey(..)")
    }
}

impl StateKey {
    /// A key from `source` (the OS CSPRNG): states survive only this
    /// process, which suits one replica; several replicas share a
    /// configured key.
    ///
    /// # Errors
    /// The source failed. There is no fallback key: one anybody could
    /// guess would make every state forgeable.
    pub(crate) fn generate(source: crate::random::Source) -> Result<Self, getrandom::Error> {
        let mut key = [0u8; 32];
        source(&mut key)?;
        Ok(Self(key))
    }

    /// A key derived from configured secret bytes.
    pub(crate) fn from_secret(secret: &[u8]) -> Self {
        Self(Sha256::digest(secret).into())
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length.
        match HmacSha256::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable_hmac(),
        }
    }
}

#[cold]
fn unreachable_hmac() -> HmacSha256 {
    // `new_from_slice` fails only for fixed-size-key MACs; HMAC is not one.
    HmacSha256::new(&Default::default())
}

/// What a request is: its method, the tool, prompt or URI it names, and a
/// digest of its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Binding {
    #[serde(rename = "m")]
    pub(crate) method: String,
    #[serde(rename = "n")]
    pub(crate) target: String,
    #[serde(rename = "d")]
    pub(crate) arguments: String,
}

impl Binding {
    /// `arguments` is digested in a canonical form (sorted keys), so a
    /// client that reorders keys on retry is still recognised.
    pub(crate) fn new(method: &str, target: &str, arguments: Option<&Value>) -> Self {
        let canonical = arguments.map_or_else(String::new, Value::to_string);
        let digest = Sha256::digest(canonical.as_bytes());
        Self {
            method: method.to_owned(),
            target: target.to_owned(),
            arguments: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest),
        }
    }
}

/// What a [`Binding`] is made from, as the request carried it. Digesting
/// the arguments is left until a state is opened or sealed, which most
/// requests never need.
#[derive(Debug, Clone)]
pub(crate) struct Unbound {
    method: &'static str,
    target: String,
    arguments: Option<Arguments>,
}

impl Unbound {
    pub(crate) fn new(method: &'static str, target: &str, arguments: Option<Arguments>) -> Self {
        Self {
            method,
            target: target.to_owned(),
            arguments,
        }
    }

    /// The binding; arguments that are not JSON bind as none.
    pub(crate) fn binding(&self) -> Binding {
        let arguments = self
            .arguments
            .as_ref()
            .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok());
        Binding::new(self.method, &self.target, arguments.as_ref())
    }
}

#[derive(Serialize, Deserialize)]
struct Payload {
    #[serde(flatten)]
    binding: Binding,
    /// Expiry, seconds since the Unix epoch.
    #[serde(rename = "e")]
    expires: u64,
    /// The answers gathered so far.
    #[serde(rename = "a")]
    answers: BTreeMap<String, Value>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Signs the answers so far into a state for the next round.
pub(crate) fn seal(
    key: &StateKey,
    binding: Binding,
    answers: BTreeMap<String, Value>,
) -> Result<String, ProtocolError> {
    let payload = Payload {
        binding,
        expires: now() + LIFETIME.as_secs(),
        answers,
    };
    let json = serde_json::to_vec(&payload)
        .map_err(|e| ProtocolError::Internal(format!("request state: {e}")))?;
    let mut mac = key.mac();
    mac.update(&json);
    let tag = mac.finalize().into_bytes();
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let state = format!("{}.{}", engine.encode(&json), engine.encode(tag));
    if state.len() > MAX_STATE {
        return Err(ProtocolError::Internal(format!(
            "the answers gathered are too large to carry ({} bytes; the limit is {MAX_STATE})",
            state.len()
        )));
    }
    Ok(state)
}

/// Checks a state the client returned and gives back its answers.
pub(crate) fn open(
    key: &StateKey,
    state: &str,
    binding: &Binding,
) -> Result<BTreeMap<String, Value>, ProtocolError> {
    let invalid =
        |why: &str| ProtocolError::InvalidParams(format!("invalid `requestState`: {why}"));
    if state.len() > MAX_STATE {
        return Err(invalid("too large"));
    }
    let (payload, tag) = state.split_once('.').ok_or_else(|| invalid("malformed"))?;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let json = engine.decode(payload).map_err(|_| invalid("malformed"))?;
    let tag = engine.decode(tag).map_err(|_| invalid("malformed"))?;
    let mut mac = key.mac();
    mac.update(&json);
    mac.verify_slice(&tag)
        .map_err(|_| invalid("it was not issued by this server or was changed"))?;
    let payload: Payload = serde_json::from_slice(&json).map_err(|_| invalid("malformed"))?;
    if payload.expires < now() {
        return Err(invalid("it has expired; start the request again"));
    }
    if payload.binding != *binding {
        return Err(invalid("it belongs to a different request"));
    }
    Ok(payload.answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binding_made_late_equals_one_made_from_the_parsed_arguments() {
        let raw = |json: &str| {
            Some(Arguments::from(
                serde_json::value::RawValue::from_string(json.to_owned()).unwrap(),
            ))
        };
        let args = serde_json::json!({"b": 1, "a": [2, {"d": null, "c": "x"}]});
        let eager = Binding::new("tools/call", "book", Some(&args));
        let spaced = r#"{ "b": 1, "a": [2, {"d": null, "c": "x"}] }"#;
        assert_eq!(
            Unbound::new("tools/call", "book", raw(spaced)).binding(),
            eager
        );
        // Other arguments, another tool, or none: another binding.
        let other = Unbound::new("tools/call", "book", raw(r#"{"b": 2}"#)).binding();
        assert_ne!(other, eager);
        assert_ne!(
            Unbound::new("tools/call", "sell", raw(spaced)).binding(),
            eager
        );
        assert_eq!(
            Unbound::new("resources/read", "file:///a", None).binding(),
            Binding::new("resources/read", "file:///a", None)
        );
    }

    #[test]
    fn states_round_trip_and_reject_tampering() {
        let key = StateKey::generate(crate::random::OS).unwrap();
        let args = serde_json::json!({"b": 1, "a": 2});
        let binding = Binding::new("tools/call", "book", Some(&args));
        let mut answers = BTreeMap::new();
        answers.insert("date".to_owned(), serde_json::json!({"action": "accept"}));
        let state = seal(&key, binding.clone(), answers.clone()).unwrap();
        assert_eq!(open(&key, &state, &binding).unwrap(), answers);

        // Key order does not matter; content does.
        let reordered = serde_json::json!({"a": 2, "b": 1});
        assert!(
            open(
                &key,
                &state,
                &Binding::new("tools/call", "book", Some(&reordered))
            )
            .is_ok()
        );
        let other = serde_json::json!({"a": 3, "b": 1});
        assert!(
            open(
                &key,
                &state,
                &Binding::new("tools/call", "book", Some(&other))
            )
            .is_err()
        );
        assert!(
            open(
                &key,
                &state,
                &Binding::new("tools/call", "cancel", Some(&args))
            )
            .is_err()
        );
        assert!(open(&key, &format!("{state}-TAMPERED"), &binding).is_err());
        let other = StateKey::generate(crate::random::OS).unwrap();
        assert!(open(&other, &state, &binding).is_err());
        assert!(open(&key, "garbage", &binding).is_err());
    }

    #[test]
    fn a_failing_random_source_gives_no_key() {
        assert_eq!(
            StateKey::generate(crate::random::failing).err(),
            Some(getrandom::Error::UNSUPPORTED)
        );
    }
}
