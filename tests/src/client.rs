//! A raw HTTP/1.1 client: it sends exactly the bytes a test asks for (non-UTF-8 values, duplicate
//! headers, odd paths), so tests see what a hostile or careless client would.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body))
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request on a new connection and reads the whole response.
pub fn request(
    port: u16,
    method: &str,
    path: &[u8],
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Response {
    try_request(port, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} request to port {port}: {e}"))
}

/// Like [`request`], with connection errors returned.
pub fn try_request(
    port: u16,
    method: &str,
    path: &[u8],
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut raw = Vec::new();
    raw.extend_from_slice(method.as_bytes());
    raw.push(b' ');
    raw.extend_from_slice(path);
    raw.extend_from_slice(b" HTTP/1.1\r\n");
    // `host: api.example.com` unless the test sends its own (a signed request sends the signed one).
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("host")) {
        raw.extend_from_slice(b"host: api.example.com\r\n");
    }
    raw.extend_from_slice(b"connection: close\r\n");
    for (name, value) in headers {
        raw.extend_from_slice(name.as_bytes());
        raw.extend_from_slice(b": ");
        raw.extend_from_slice(value);
        raw.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        raw.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    raw.extend_from_slice(b"\r\n");
    raw.extend_from_slice(body);

    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.write_all(&raw)?;
    read_response(&mut stream)
}

/// Reads one response from `stream`: until it is complete (content-length or last chunk)
/// rather than until EOF, since after a local reply Envoy may hold the connection for its
/// delayed-close timeout.
pub fn read_response(stream: &mut impl Read) -> std::io::Result<Response> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(buf.get(..n).unwrap_or_default());
        if complete(&bytes) {
            break;
        }
    }
    parse(&bytes).ok_or_else(|| {
        std::io::Error::other(format!("no HTTP response in {:?}", String::from_utf8_lossy(&bytes)))
    })
}

/// `GET path` with headers.
pub fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> Response {
    let headers: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
    request(port, "GET", path.as_bytes(), &headers, b"")
}

fn parse(bytes: &[u8]) -> Option<Response> {
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..split]);
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok())?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &bytes[split + 4..];
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(rest) } else { rest.to_vec() };
    Some(Response { status, headers, body })
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&rest[..eol]).split(';').next().unwrap_or("0").trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        body.extend_from_slice(&rest[start..start + size]);
        rest = &rest[start + size + 2..];
    }
    body
}

/// Whether `bytes` hold a whole response: head plus content-length bytes, or a final chunk.
fn complete(bytes: &[u8]) -> bool {
    let Some(split) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&bytes[..split]).to_ascii_lowercase();
    let body = &bytes[split + 4..];
    if let Some(len) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return body.len() >= len;
    }
    if head.lines().any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked")) {
        return body.ends_with(b"0\r\n\r\n");
    }
    false
}

/// An AWS gateway response: status, exactly `{"message": message}`, the error type, a request id.
pub fn assert_gateway_error(
    r: &Response,
    status: u16,
    message: &str,
    error_type: &str,
    case: &str,
) {
    assert_eq!(r.status, status, "{case}: {}", r.text());
    assert_eq!(r.json(), serde_json::json!({ "message": message }), "{case}");
    assert_eq!(r.header("x-amzn-errortype"), Some(error_type), "{case}");
    assert_eq!(r.header("content-type"), Some("application/json"), "{case}");
    assert!(r.header("x-amzn-requestid").is_some_and(|id| id.len() >= 32), "{case}: request id");
}
