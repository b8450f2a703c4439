//! HTTP/2 without TLS (prior knowledge): the listener's codec is AUTO. Shared by the test
//! files that speak it (`#[path]`).

use bytes::Bytes;
use tollgate_e2e::Response;

/// One request on a new connection; `Err` when the stream or connection is refused (or the
/// `http` crate will not build the request: HTTP/2 forbids NUL and raw non-ASCII in a path).
#[allow(dead_code)]
pub fn request(
    port: u16,
    method: &str,
    path: &[u8],
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Result<Response, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(send(port, "http", method, path, headers, body)).map_err(|e| e.to_string())
}

/// [`request`] with the `:scheme` the client claims (`https` over a plain connection is a lie
/// HTTP/2 lets a client tell).
#[allow(dead_code)]
pub fn request_claiming(
    port: u16,
    scheme: &str,
    method: &str,
    path: &[u8],
    headers: &[(&str, &[u8])],
) -> Result<Response, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(send(port, scheme, method, path, headers, b"")).map_err(|e| e.to_string())
}

async fn send(
    port: u16,
    scheme: &str,
    method: &str,
    path: &[u8],
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Result<Response, Box<dyn std::error::Error>> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let (client, connection) = h2::client::handshake(tcp).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut client = client.ready().await?;
    let mut uri = format!("{scheme}://api.example.com").into_bytes();
    uri.extend_from_slice(path);
    let mut request = http::Request::builder()
        .method(method)
        .uri(http::Uri::from_maybe_shared(Bytes::from(uri))?);
    for (name, value) in headers {
        request = request.header(*name, http::HeaderValue::from_bytes(value)?);
    }
    let (response, mut stream) = client.send_request(request.body(())?, body.is_empty())?;
    if !body.is_empty() {
        // h2 holds what the peer's window does not take yet; a refusal ends the stream.
        stream.send_data(Bytes::copy_from_slice(body), true)?;
    }
    let response = response.await?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let mut received = response.into_body();
    let mut body = Vec::new();
    while let Some(chunk) = received.data().await {
        let chunk = chunk?;
        let _ = received.flow_control().release_capacity(chunk.len());
        body.extend_from_slice(&chunk);
    }
    Ok(Response { status, headers, body })
}
