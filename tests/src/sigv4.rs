//! SigV4-signed requests made by botocore's own signer (`tests/sigv4/sign.py`, run with the
//! `.venv` python where `make test-e2e` installs botocore), then sent with the raw client exactly
//! as signed: same request-target bytes, same headers (the signed Host included), same body.
//! A test may change a signed request before sending it, to see tampering refused.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::{client, root, Response};

/// An access key pair, with a session token for temporary credentials.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub access_key: &'static str,
    pub secret_key: &'static str,
    pub token: Option<&'static str>,
}

/// One request to sign (the JSON job `sign.py` reads).
#[derive(Debug, Clone)]
pub struct Job {
    pub method: String,
    /// The URL to sign, e.g. `http://127.0.0.1:PORT/pets?a=b`; its host is the signed Host.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub key: Key,
    pub region: String,
    pub service: String,
    /// A presigned URL (`SigV4QueryAuth`) valid this many seconds, instead of the header form.
    pub presign_expires: Option<u32>,
    /// Sign at this time (`YYYYMMDDTHHMMSSZ`) rather than now.
    pub amz_date: Option<String>,
}

impl Job {
    pub fn new(method: &str, url: &str, key: Key, region: &str) -> Job {
        Job {
            method: method.to_string(),
            url: url.to_string(),
            headers: Vec::new(),
            body: String::new(),
            key,
            region: region.to_string(),
            service: "execute-api".to_string(),
            presign_expires: None,
            amz_date: None,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Job {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: &str) -> Job {
        self.body = body.to_string();
        self
    }

    pub fn region(mut self, region: &str) -> Job {
        self.region = region.to_string();
        self
    }

    pub fn service(mut self, service: &str) -> Job {
        self.service = service.to_string();
        self
    }

    pub fn presigned(mut self, expires: u32) -> Job {
        self.presign_expires = Some(expires);
        self
    }

    pub fn at(mut self, amz_date: &str) -> Job {
        self.amz_date = Some(amz_date.to_string());
        self
    }

    pub fn sign(self) -> Signed {
        let [signed] = sign_all([self]);
        signed
    }

    fn to_json(&self) -> Value {
        let mut headers = serde_json::Map::new();
        for (name, value) in &self.headers {
            headers.insert(name.clone(), json!(value));
        }
        json!({
            "method": self.method,
            "url": self.url,
            "headers": headers,
            "body": self.body,
            "access_key": self.key.access_key,
            "secret_key": self.key.secret_key,
            "token": self.key.token,
            "region": self.region,
            "service": self.service,
            "presign_expires": self.presign_expires,
            "amz_date": self.amz_date,
        })
    }
}

/// A signed request, ready to send (or to tamper with first).
#[derive(Debug, Clone)]
pub struct Signed {
    pub method: String,
    /// The request-target: path and query, exactly as signed.
    pub target: String,
    /// Every header to send, the signed Host first.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Signed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Replaces the value of header `name` (which must be there).
    pub fn set_header(&mut self, name: &str, value: &str) {
        let names: Vec<String> = self.headers.iter().map(|(n, _)| n.clone()).collect();
        let header = self.headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name));
        header.unwrap_or_else(|| panic!("no header {name} in {names:?}")).1 = value.to_string();
    }

    /// Sends the request to `127.0.0.1:port` on a new connection.
    pub fn send(&self, port: u16) -> Response {
        let headers: Vec<(&str, &[u8])> =
            self.headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect();
        client::request(port, &self.method, self.target.as_bytes(), &headers, &self.body)
    }
}

/// The venv python that has botocore.
pub fn python() -> PathBuf {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make test-e2e` (it creates .venv and installs botocore there)",
        python.display()
    );
    python
}

/// Signs several requests with one run of `sign.py`.
pub fn sign_all<const N: usize>(jobs: [Job; N]) -> [Signed; N] {
    let input = Value::Array(jobs.iter().map(Job::to_json).collect()).to_string();
    let script = root().join("tests/sigv4/sign.py");
    let mut child = Command::new(python())
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write jobs");
    let out = child.wait_with_output().expect("sign.py output");
    assert!(
        out.status.success(),
        "sign.py failed ({}); is botocore installed (`make test-e2e` does it)?\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let signed: Vec<Value> = serde_json::from_slice(&out.stdout).expect("sign.py prints JSON");
    assert_eq!(signed.len(), N, "one signed request per job");
    let mut results = jobs.iter().zip(signed).map(|(job, s)| {
        let url = s["url"].as_str().expect("url");
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let target = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
        let headers = s["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .map(|h| (h[0].as_str().expect("name").into(), h[1].as_str().expect("value").into()))
            .collect();
        Signed {
            method: job.method.clone(),
            target: target.to_string(),
            headers,
            body: job.body.as_bytes().to_vec(),
        }
    });
    std::array::from_fn(|_| results.next().expect("N results"))
}

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970");
    i64::try_from(since.as_secs()).expect("time fits i64")
}

/// A Unix time as a SigV4 timestamp, `YYYYMMDDTHHMMSSZ` (UTC).
pub fn amz_date(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    format!("{year:04}{month:02}{day:02}T{h:02}{m:02}{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::amz_date;

    #[test]
    fn amz_dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
        assert_eq!(amz_date(1_795_650_959), "20261125T235559Z");
    }
}
