//! One request's state between the filter's callbacks. The filter holds it and hands it back to
//! every pipeline call; only the pipeline reads or writes its fields.

use std::rc::Rc;

use crate::apikey::KeyHash;
use crate::auth::custom::InvokeResponse;
use crate::auth::jwt::VerifiedToken;
use crate::auth::lambda::AuthorizerOutput;
use crate::gateway_response::LocalReply;
use crate::keystore::StoredKey;
use crate::routes::MethodId;
use crate::throttle::global::GlobalState;

use super::transform::{PendingEntry, ResponseState};

/// At most this many callouts for one request (a JWKS fetch, an authorizer, the rate-limit
/// service asked again for single units, an integration): a bound, never reached by a
/// well-formed exchange, that stops a loop.
pub(super) const MAX_CALLOUTS: u8 = 8;

/// What one request has decided and is waiting for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exchange {
    /// Headers to add to the upstream's response (`RateLimit-*`, the stage, the cache).
    pub(super) response_headers: Vec<(&'static str, String)>,
    /// The request headers ended the request (no body).
    pub(super) end_of_stream: bool,
    /// The pipeline asked for the whole body and has not had it yet.
    pub(super) awaiting_body: bool,
    /// The whole body, kept while a callout decides (the pass after it needs the body again).
    pub(super) body: Option<Vec<u8>>,
    /// Bytes of a body streamed upstream unbuffered, held to the payload limit.
    pub(super) streamed: usize,
    /// The callout the request waits for.
    pub(super) pending: Option<Pending>,
    /// Callouts made so far.
    pub(super) callouts: u8,
    /// A JWKS was fetched for this request already (fetch at most once per request).
    pub(super) keys_fetched: bool,
    /// The Lambda authorizer's raw answer, between its arrival and step 3, which turns it
    /// into [`Exchange::authenticated`] on the same pass.
    pub(super) authorizer_response: Option<InvokeResponse>,
    /// Step 3's decided outcome: who the caller is.
    pub(super) authenticated: Option<Authenticated>,
    /// Step 6 admitted the request (its counts are taken; never counted twice).
    pub(super) admitted: bool,
    /// A global usage plan's call to the rate-limit service and its answer.
    pub(super) global: GlobalState,
    /// An HTTP integration's response phase: which integration response applies.
    pub(super) response: Option<Box<ResponseState>>,
    /// The stage's base path (`/dev`) when the stage came from the path: removed before the
    /// method is matched and before the request goes upstream.
    pub(super) base_path: Option<String>,
    /// Envoy's route removes the base path on the way upstream (a custom domain's mapping):
    /// the filter leaves `:path` as it came, so Envoy keeps matching the API's route.
    pub(super) base_path_kept: bool,
    /// A cache miss: the response to store.
    pub(super) cache: Option<PendingEntry>,
    /// The request is a WebSocket upgrade or a CONNECT: its body is a tunnel's data, which the
    /// payload limit does not cover.
    pub(super) tunnel: bool,
    /// A refusal decided before the (small) body arrived, sent once the body is read: an
    /// HTTP/1.1 connection whose request was answered early cannot serve another request.
    pub(super) deferred: Option<LocalReply>,
    /// The key store's answer to this request's lookup (kept for every later pass).
    pub(super) stored_key: Option<StoreAnswer>,
}

/// A callout the request waits for, and the step that asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Pending {
    /// The JWKS of this token authorizer (step 3).
    Keys(usize),
    /// This Lambda authorizer (step 3).
    Authorizer(usize),
    /// The rate-limit service of global usage plans (step 6).
    RateLimit,
    /// The method's integration (step 8): its answer is the client's.
    Integration(MethodId),
    /// The key store, for the record of the key with this SHA-256 (step 5).
    KeyLookup(Box<KeyHash>),
}

/// What the key store answered this request's lookup.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum StoreAnswer {
    /// The key's record, or `None`: no such key.
    Found(Option<Rc<StoredKey>>),
    /// The store could not answer.
    Failed,
}

/// Who step 3 found the caller to be.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Authenticated {
    /// A method without authorization.
    Anonymous,
    /// A Lambda authorizer's allowed output.
    Lambda(Box<AuthorizerOutput>),
    /// A verified bearer token.
    Token(VerifiedToken),
    /// A SigV4-signed caller: its credential (index in the plan's IAM credentials).
    Iam(usize),
}

impl Exchange {
    /// The stage was chosen from the path: `/dev` is not part of the resource path.
    pub fn set_base_path(&mut self, base_path: Option<String>) {
        self.base_path = base_path;
    }

    /// The stage came from a custom domain's base path mapping: `/v1` is not part of the
    /// resource path, and Envoy's route (not the filter) removes it before the upstream.
    pub fn set_mapped_base_path(&mut self, base_path: Option<String>) {
        self.base_path = base_path;
        self.base_path_kept = true;
    }

    /// A header for the client's response (set whatever the upstream answers).
    pub fn add_response_header(&mut self, name: &'static str, value: String) {
        self.response_headers.push((name, value));
    }

    /// The response phase has something to do.
    pub fn has_response_work(&self) -> bool {
        !self.response_headers.is_empty() || self.response.is_some() || self.cache.is_some()
    }

    /// The request waits for a callout's answer.
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// The callout the request waits for is its integration, whose answer is the client's
    /// (the request was admitted). For tests and fuzzing: the filter needs no callout kind.
    pub fn awaits_integration(&self) -> bool {
        matches!(self.pending, Some(Pending::Integration(_)))
    }
}
