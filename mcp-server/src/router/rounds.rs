//! Multi round-trip requests on 2026-07-28: a handler's questions go back as
//! an `InputRequiredResult`, and the answers come with the retry.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use mcp_core::client::InputRetry;
use mcp_core::codec;
use mcp_core::jsonrpc::Request;
use mcp_core::{ProtocolError, ProtocolVersion};
use serde_json::value::RawValue;

use crate::ask::InputRound;
use crate::audit::{self, AuditOutcome};
use crate::context::{ClientLink, Envelope};
use crate::server::Server;
use crate::state::{self, Unbound};

use super::parse_params;

/// On 2026-07-28, the answers a request brings (its `inputResponses` and
/// those in its signed `requestState`), installed in the envelope so the
/// handler's questions find them.
pub(super) fn open_round(
    server: &Server,
    request: &Request,
    envelope: &mut Envelope,
    binding: Unbound,
) -> Result<(Arc<InputRound>, Unbound), ProtocolError> {
    let retry: InputRetry = parse_params(request.params.as_deref())?;
    open_round_with(server, retry, envelope, binding)
}

/// [`open_round`] with the retry fields already read from the params.
pub(super) fn open_round_with(
    server: &Server,
    retry: InputRetry,
    envelope: &mut Envelope,
    binding: Unbound,
) -> Result<(Arc<InputRound>, Unbound), ProtocolError> {
    let mut answers = match retry.request_state.as_deref() {
        Some(state) => state::open(server.state_key()?, state, &binding.binding())?,
        None => BTreeMap::new(),
    };
    answers.extend(retry.input_responses.unwrap_or_default());
    let round = Arc::new(InputRound::new(answers));
    envelope.link = ClientLink::Round(Arc::clone(&round));
    Ok((round, binding))
}

/// Runs a handler; `None` when it parked on a question with no answer yet.
pub(super) async fn run_parkable<T>(
    round: Option<&Arc<InputRound>>,
    work: impl Future<Output = T>,
) -> Option<T> {
    match round {
        None => Some(work.await),
        Some(round) => tokio::select! {
            biased;
            done = work => Some(done),
            () = round.parked() => None,
        },
    }
}

/// The `InputRequiredResult` for a parked handler: its questions, and a
/// signed state carrying every answer so far.
pub(super) fn input_required(
    server: &Server,
    round: Option<(Arc<InputRound>, Unbound)>,
    version: ProtocolVersion,
) -> Result<Box<RawValue>, ProtocolError> {
    let Some((round, binding)) = round else {
        return Err(ProtocolError::Internal(
            "a handler waited for nothing".into(),
        ));
    };
    audit::note(AuditOutcome::InputRequired);
    let questions = round.take_questions();
    let state = state::seal(
        server.state_key()?,
        binding.binding(),
        round.answers.clone(),
    )?;
    let value = serde_json::json!({
        "resultType": "input_required",
        "inputRequests": questions,
        "requestState": state,
    });
    codec::encode_value(value, version, Some(&server.info().implementation))
        .map_err(|e| ProtocolError::Internal(format!("result could not be encoded: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_a_round_a_handler_runs_to_its_end() {
        assert_eq!(run_parkable(None, async { 7 }).await, Some(7));
    }

    #[test]
    fn a_handler_that_waited_for_nothing_is_an_internal_error() {
        let server = Server::builder().no_audit().build();
        let refused = input_required(&server, None, ProtocolVersion::V2026_07_28);
        assert!(
            matches!(refused, Err(ProtocolError::Internal(_))),
            "{refused:?}"
        );
    }
}
