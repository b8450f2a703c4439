//! The one callout protocol between the pipeline and the filter. Every call the gateway makes
//! itself (a JWKS fetch, a Lambda authorizer, a Lambda or AWS-service integration, the rate-limit
//! service) is built here as one [`Callout`] value; the filter sends it as it is (HTTP or gRPC
//! to an Envoy cluster), and hands whatever came back, or the failure to send it, to
//! [`super::on_callout_response`] as one [`CalloutResponse`]. The filter knows no callout kind.

/// A call to an Envoy cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callout {
    pub cluster: String,
    pub timeout_ms: u32,
    pub request: CalloutRequest,
    /// The most of the answer's body the pipeline reads; the filter hands over one byte more
    /// (so an answer that is too large can be told from one that just fits).
    pub max_response_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalloutRequest {
    /// An HTTP request: pseudo-headers (`:method`, `:path`, `:authority`) among the headers.
    Http { headers: Vec<(String, String)>, body: Vec<u8> },
    /// A unary gRPC call with an encoded request message.
    Grpc { service: &'static str, method: &'static str, message: Vec<u8> },
}

/// What came back. `status` 0 means no answer: the call could not be sent, failed or timed
/// out (for gRPC, any status but OK). A gRPC answer with status OK is `status` 200.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CalloutResponse {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// The largest answer read from an integration (Lambda's 6 MB; AWS's 10 MB payload limit for
/// services).
pub const MAX_CALLOUT_RESPONSE_BYTES: usize = 10 * 1024 * 1024;

impl Callout {
    /// An HTTP request to `cluster`.
    pub fn http(
        cluster: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        timeout_ms: u32,
    ) -> Callout {
        Callout {
            cluster: cluster.to_string(),
            timeout_ms,
            request: CalloutRequest::Http { headers, body },
            max_response_bytes: MAX_CALLOUT_RESPONSE_BYTES,
        }
    }

    /// Lambda's Invoke API (`RequestResponse`): a POST of `event` to the function's path (the
    /// cluster signs it with SigV4 when it stands for AWS).
    pub fn lambda_invoke(
        cluster: &str,
        (authority, path): (&str, &str),
        event: Vec<u8>,
        timeout_ms: u32,
    ) -> Callout {
        let headers = vec![
            (":method".into(), "POST".into()),
            (":path".into(), path.into()),
            (":authority".into(), authority.into()),
            ("content-type".into(), "application/json".into()),
            ("x-amz-invocation-type".into(), "RequestResponse".into()),
        ];
        Callout::http(cluster, headers, event, timeout_ms)
    }

    /// A GET of a JSON document (a JWKS).
    pub fn get_json(cluster: &str, (authority, path): (&str, &str), timeout_ms: u32) -> Callout {
        let headers = vec![
            (":method".into(), "GET".into()),
            (":path".into(), path.into()),
            (":authority".into(), authority.into()),
            ("accept".into(), "application/json".into()),
        ];
        Callout::http(cluster, headers, Vec::new(), timeout_ms)
    }

    /// A unary gRPC call.
    pub fn grpc(
        cluster: &str,
        (service, method): (&'static str, &'static str),
        message: Vec<u8>,
        timeout_ms: u32,
    ) -> Callout {
        Callout {
            cluster: cluster.to_string(),
            timeout_ms,
            request: CalloutRequest::Grpc { service, method, message },
            max_response_bytes: 4 * 1024 * 1024,
        }
    }

    /// The answer's body is read up to this many bytes.
    pub fn with_response_cap(mut self, bytes: usize) -> Callout {
        self.max_response_bytes = bytes;
        self
    }

    /// The request's body or message.
    pub fn body(&self) -> &[u8] {
        match &self.request {
            CalloutRequest::Http { body, .. } => body,
            CalloutRequest::Grpc { message, .. } => message,
        }
    }

    /// An HTTP header of the request.
    pub fn header(&self, name: &str) -> Option<&str> {
        match &self.request {
            CalloutRequest::Http { headers, .. } => {
                headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
            }
            CalloutRequest::Grpc { .. } => None,
        }
    }
}

impl CalloutResponse {
    /// No answer: the call could not be sent, failed or timed out.
    pub fn failed() -> CalloutResponse {
        CalloutResponse::default()
    }

    /// A gRPC call's end: its status code (0 is OK) and message.
    pub fn grpc(status_code: u32, message: Vec<u8>) -> CalloutResponse {
        match status_code {
            0 => CalloutResponse { status: 200, headers: Vec::new(), body: message },
            _ => CalloutResponse::failed(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    /// The body of a 200, else `None`.
    pub fn ok_body(&self) -> Option<&[u8]> {
        (self.status == 200).then_some(self.body.as_slice())
    }
}
