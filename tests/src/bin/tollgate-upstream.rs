//! A real upstream for tests, examples and benchmarks, HTTP/1.1 with keep-alive.
//!
//! `tollgate-upstream [--port N] [--mode echo|petstore|files] [--dir D]`
//! - `echo` (default) answers 200 with what it received as JSON: method, path, headers, body
//!   (and `server`: the `--name N` it was started with, to tell several upstreams apart).
//! - `petstore` serves a tiny pet store: `GET /pets`, `GET /pets/{id}`, `POST /pets` (also under
//!   `/petstore`, where AWS's demo endpoint serves it).
//! - `files` serves the files under `--dir` as JSON (a JWKS endpoint): `GET /x/y` answers
//!   `D/x/y` as it is on disk at that moment (tests rewrite it to rotate keys), 404 otherwise.
//! - `websocket` is a chat room: every connection is a WebSocket; the server first sends
//!   `{"welcome": {"path", "headers"}}` (the upgrade request as it arrived), then broadcasts each
//!   text message to every member (the sender too) as `{"from", "text"}`, `from` being the
//!   caller's API key id or authorizer principal; binary messages are echoed to the sender.
//!
//! Prints `listening on 127.0.0.1:PORT` once ready (port 0 picks a free one).

// A test harness fails a test by panicking: the no-panic lints of the workspace are for the
// filter, the CLI and the rate-limit service.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tungstenite::{Message, WebSocket};

use serde_json::{json, Map, Value};

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

fn main() {
    let mut port = 0u16;
    let mut mode = String::from("echo");
    let mut dir: Option<PathBuf> = None;
    let mut name = String::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse().ok()).unwrap_or(0),
            "--mode" => mode = args.next().unwrap_or_default(),
            "--dir" => dir = args.next().map(PathBuf::from),
            "--name" => name = args.next().unwrap_or_default(),
            other => {
                eprintln!("unknown argument {other}; usage: tollgate-upstream [--port N] [--mode echo|petstore|files|websocket] [--dir D] [--name N]");
                std::process::exit(2);
            }
        }
    }
    let mode = match (mode.as_str(), dir) {
        ("echo", None) => Mode::Echo(name),
        ("petstore", None) => Mode::Petstore,
        ("files", Some(dir)) => Mode::Files(dir),
        ("websocket", None) => Mode::WebSocket(Room::default()),
        _ => {
            eprintln!("--mode is echo, petstore, files or websocket; --dir goes with files (only)");
            std::process::exit(2);
        }
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
    println!("listening on {}", listener.local_addr().expect("local addr"));
    let mode = Arc::new(mode);
    for stream in listener.incoming().flatten() {
        let mode = Arc::clone(&mode);
        std::thread::spawn(move || match &*mode {
            Mode::WebSocket(room) => chat(stream, room),
            other => serve(stream, other),
        });
    }
}

enum Mode {
    /// Answers with what it received, and its `--name` as `server` when it has one.
    Echo(String),
    Petstore,
    Files(PathBuf),
    WebSocket(Room),
}

type Member = Arc<Mutex<WebSocket<TcpStream>>>;

/// The members of the chat, by connection number.
#[derive(Default)]
struct Room {
    members: Mutex<Vec<(u64, Member)>>,
    next: AtomicU64,
}

impl Room {
    fn broadcast(&self, message: &Message) {
        let members: Vec<Member> = self
            .members
            .lock()
            .map(|m| m.iter().map(|(_, w)| Arc::clone(w)).collect())
            .unwrap_or_default();
        for member in members {
            if let Ok(mut ws) = member.lock() {
                let _ = ws.send(message.clone());
            }
        }
    }
}

/// One chat member: the upgrade, the welcome, then messages until the close.
// The handshake callback's error type is tungstenite's (an HTTP response).
#[allow(clippy::result_large_err)]
fn chat(stream: TcpStream, room: &Room) {
    let _ = stream.set_nodelay(true);
    let Ok(write_half) = stream.try_clone() else { return };
    let mut upgrade = (String::new(), Map::new());
    let callback = |req: &tungstenite::handshake::server::Request,
                    resp: tungstenite::handshake::server::Response| {
        upgrade.0 = req.uri().to_string();
        for (name, value) in req.headers() {
            upgrade.1.insert(
                name.as_str().to_string(),
                Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()),
            );
        }
        Ok(resp)
    };
    let Ok(mut reader) = tungstenite::accept_hdr(stream, callback) else { return };
    let (path, headers) = upgrade;
    let from = ["x-tollgate-api-key-id", "x-tollgate-authorizer-principal-id"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| "anonymous".into());
    let writer: Member = Arc::new(Mutex::new(WebSocket::from_raw_socket(
        write_half,
        tungstenite::protocol::Role::Server,
        None,
    )));
    let welcome = json!({"welcome": {"path": path, "headers": headers}}).to_string();
    let sent = match writer.lock() {
        Ok(mut w) => w.send(Message::text(welcome)).is_ok(),
        Err(_) => false,
    };
    if !sent {
        return;
    }
    let id = room.next.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut members) = room.members.lock() {
        members.push((id, Arc::clone(&writer)));
    }
    loop {
        match reader.read() {
            Ok(Message::Text(text)) => {
                let line = json!({"from": from, "text": text.as_str()}).to_string();
                room.broadcast(&Message::text(line));
            }
            Ok(Message::Binary(bytes)) => {
                if let Ok(mut w) = writer.lock() {
                    let _ = w.send(Message::Binary(bytes));
                }
            }
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
        let _ = reader.flush();
    }
    if let Ok(mut members) = room.members.lock() {
        members.retain(|(m, _)| *m != id);
    }
}

fn serve(stream: TcpStream, mode: &Mode) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader) {
        // A header of the upstream's own, which an HTTP (non-proxy) integration does not pass on.
        let own = if matches!(mode, Mode::Echo(_)) { "x-upstream: echo\r\n" } else { "" };
        let (status, body) = match mode {
            Mode::Echo(name) => {
                let mut answer = echo(&request);
                if !name.is_empty() {
                    answer["server"] = Value::String(name.clone());
                }
                (200, answer.to_string())
            }
            Mode::Petstore => {
                let (status, body) = petstore_answer(&request);
                (status, body.to_string())
            }
            Mode::Files(dir) => file_answer(dir, &request),
            Mode::WebSocket(_) => (400, json!({"message": "WebSocket only"}).to_string()),
        };
        let head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{own}\r\n",
            if status < 300 { "OK" } else { "Error" },
            body.len()
        );
        if writer
            .write_all(head.as_bytes())
            .and_then(|_| writer.write_all(body.as_bytes()))
            .is_err()
        {
            return;
        }
    }
}

fn read_line(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line).ok()? == 0 {
        return None;
    }
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    Some(line)
}

fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let start = String::from_utf8(read_line(reader)?).ok()?;
    let mut parts = start.split(' ');
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?;
        if line.is_empty() {
            break;
        }
        let colon = line.iter().position(|b| *b == b':')?;
        let name = String::from_utf8_lossy(&line[..colon]).to_ascii_lowercase();
        let value = line[colon + 1..].trim_ascii().to_vec();
        headers.push((name, value));
    }
    let header = |n: &str| {
        headers.iter().find(|(k, _)| k == n).map(|(_, v)| String::from_utf8_lossy(v).to_string())
    };
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let size_line = String::from_utf8(read_line(reader)?).ok()?;
            let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                while !read_line(reader)?.is_empty() {}
                break;
            }
            let mut chunk = vec![0; size];
            reader.read_exact(&mut chunk).ok()?;
            body.extend_from_slice(&chunk);
            read_line(reader)?;
        }
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some(Request { method, path, headers, body })
}

fn echo(request: &Request) -> Value {
    let mut headers = Map::new();
    for (name, value) in &request.headers {
        let value = String::from_utf8_lossy(value).into_owned();
        match headers.get_mut(name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.clone(), Value::String(value));
            }
        }
    }
    json!({
        "method": request.method,
        "path": request.path,
        "headers": headers,
        "body": String::from_utf8_lossy(&request.body),
    })
}

fn petstore_answer(request: &Request) -> (u16, Value) {
    let pets = json!([
        {"id": 1, "type": "dog", "price": 249.99},
        {"id": 2, "type": "cat", "price": 124.99},
        {"id": 3, "type": "fish", "price": 0.99},
    ]);
    let path = request.path.split('?').next().unwrap_or_default();
    // AWS's demo endpoint serves the same store under `/petstore` (the samples call it there).
    let path = path.strip_prefix("/petstore").filter(|p| p.starts_with('/')).unwrap_or(path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["pets"]) => (200, pets),
        ("POST", ["pets"]) => match serde_json::from_slice::<Value>(&request.body) {
            Ok(pet) => (201, json!({"pet": pet, "message": "success"})),
            Err(_) => (400, json!({"message": "body must be a JSON pet"})),
        },
        ("GET", ["pets", id]) => {
            match pets.as_array().and_then(|all| {
                all.iter().find(|p| p["id"].as_u64().is_some_and(|n| n.to_string() == *id))
            }) {
                Some(pet) => (200, pet.clone()),
                None => (404, json!({"message": format!("no pet {id}")})),
            }
        }
        _ => (404, json!({"message": "not found"})),
    }
}

/// `GET /x/y` -> the bytes of `dir/x/y` (read now, so a rewritten file is served at once).
fn file_answer(dir: &Path, request: &Request) -> (u16, String) {
    let not_found = || (404, json!({"message": "not found"}).to_string());
    if request.method != "GET" {
        return not_found();
    }
    let path =
        Path::new(request.path.split('?').next().unwrap_or_default().trim_start_matches('/'));
    if !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return not_found();
    }
    match std::fs::read_to_string(dir.join(path)) {
        Ok(body) => (200, body),
        Err(_) => not_found(),
    }
}
