//! WebSocket and TLS clients for the tests: `ws://` and `wss://` (tungstenite over a TCP or
//! rustls stream), HTTPS requests, and a self-signed certificate made with `openssl` that only
//! these clients trust.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::WebSocket;

use crate::client::{read_response, Response};

/// A byte stream a WebSocket can run over: plain TCP or TLS.
pub trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

pub type Socket = WebSocket<Box<dyn Stream>>;

/// A self-signed certificate for `localhost` and `127.0.0.1` (P-256, valid two days) and its
/// key, as PEM files in `dir`.
pub fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    server_certificate(dir, "localhost", "DNS:localhost, IP:127.0.0.1")
}

/// A self-signed server certificate for `name` (the subject's CN) valid for `alt_names`
/// (`DNS:api.example.com`), P-256, two days, and its key: `dir/{name}.crt`, `dir/{name}.key`.
pub fn server_certificate(dir: &Path, name: &str, alt_names: &str) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    // A server certificate, not a CA (TLS clients refuse a CA certificate as the server's).
    let config = dir.join(format!("{name}.openssl.cnf"));
    std::fs::write(
        &config,
        format!(
            "[req]\ndistinguished_name = dn\nx509_extensions = server\nprompt = no\n\
             [dn]\nCN = {name}\n\
             [server]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = digitalSignature\n\
             extendedKeyUsage = serverAuth\nsubjectAltName = {alt_names}\n"
        ),
    )
    .expect("write openssl.cnf");
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-nodes", "-days", "2", "-config"])
        .arg(&config)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
    (cert, key)
}

/// A TLS client config that trusts exactly `cert`.
pub fn trusting(cert: &Path) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_file_iter(cert).expect("read the certificate") {
        roots.add(der.expect("a PEM certificate")).expect("a usable root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A connection to `127.0.0.1:port`, through TLS (for `localhost`) when `tls` is given.
pub fn connect(
    port: u16,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> std::io::Result<Box<dyn Stream>> {
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(match tls {
        None => Box::new(tcp),
        Some(config) => {
            let name = ServerName::try_from("localhost").expect("a server name");
            let conn = rustls::ClientConnection::new(Arc::clone(config), name)
                .map_err(std::io::Error::other)?;
            Box::new(rustls::StreamOwned::new(conn, tcp))
        }
    })
}

/// Opens a WebSocket to `path` with extra request headers; `Err` holds what the gateway
/// answered instead of upgrading (tungstenite's `Error::Http` carries the response).
pub fn open(
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Socket, Box<tungstenite::Error>> {
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    let mut request = format!("{scheme}://localhost:{port}{path}").into_client_request()?;
    for (name, value) in headers {
        let name: tungstenite::http::HeaderName = name.parse().expect("a header name");
        request.headers_mut().insert(name, HeaderValue::from_str(value).expect("a header value"));
    }
    let stream = connect(port, tls).map_err(tungstenite::Error::Io)?;
    match tungstenite::client(request, stream) {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::HandshakeError::Failure(e)) => Err(Box::new(e)),
        Err(tungstenite::HandshakeError::Interrupted(_)) => {
            Err(Box::new(tungstenite::Error::Io(std::io::Error::other("handshake interrupted"))))
        }
    }
}

/// The next text message, parsed as JSON.
pub fn next_json(socket: &mut Socket) -> serde_json::Value {
    loop {
        match socket.read().expect("a message") {
            tungstenite::Message::Text(text) => {
                return serde_json::from_str(text.as_str()).expect("a JSON message")
            }
            tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => continue,
            other => panic!("expected text, got {other:?}"),
        }
    }
}

/// One HTTPS request (`connection: close`), the response read whole.
pub fn https(
    port: u16,
    tls: &Arc<rustls::ClientConfig>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    let mut stream = connect(port, Some(tls))?;
    let mut raw = format!("{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str("\r\n");
    stream.write_all(raw.as_bytes())?;
    read_response(&mut stream)
}
