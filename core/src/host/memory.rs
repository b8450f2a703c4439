//! An in-memory [`Host`] for tests. Its shared data behaves like Envoy's: every write bumps the
//! version, a stale `cas` is refused, `cas` 0 or `None` overwrites, inserting ignores `cas`. The
//! store is `Send + Sync` so several threads can contend on it like Envoy workers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{HeaderList, Host, HostError, LogLevel, Outcome, Versioned};
use crate::gateway_response::LocalReply;

#[derive(Debug, Default)]
struct Store {
    entries: HashMap<String, (Vec<u8>, u32)>,
    next_cas: u32,
}

/// Shared data visible to every [`MemoryHost`] made from it.
#[derive(Debug, Clone, Default)]
pub struct SharedStore(Arc<Mutex<Store>>);

impl SharedStore {
    fn with<T>(&self, f: impl FnOnce(&mut Store) -> T) -> Result<T, HostError> {
        let mut guard = self
            .0
            .lock()
            .map_err(|_| HostError::Call { call: "shared_data", status: "poisoned".into() })?;
        Ok(f(&mut guard))
    }

    pub fn get(&self, key: &str) -> Result<Versioned, HostError> {
        self.with(|s| match s.entries.get(key) {
            Some((v, cas)) => (Some(v.clone()), Some(*cas)),
            None => (None, None),
        })
    }

    pub fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), HostError> {
        self.with(|s| {
            s.next_cas = s.next_cas.wrapping_add(1).max(1);
            let next = s.next_cas;
            match s.entries.get_mut(key) {
                Some(entry) => match cas {
                    Some(c) if c != 0 && c != entry.1 => Err(HostError::CasMismatch),
                    _ => {
                        *entry = (value.to_vec(), next);
                        Ok(())
                    }
                },
                None => {
                    s.entries.insert(key.to_string(), (value.to_vec(), next));
                    Ok(())
                }
            }
        })?
    }
}

/// One request's view of the host.
#[derive(Debug, Default)]
pub struct MemoryHost {
    pub request_headers: Vec<(String, Vec<u8>)>,
    pub response_headers: Vec<(String, Vec<u8>)>,
    pub filter_state: HashMap<String, Vec<u8>>,
    /// Envoy attributes by dotted path (`source.address`).
    pub properties: HashMap<String, Vec<u8>>,
    pub shared: SharedStore,
    pub now_nanos: u64,
    pub counts: HashMap<Outcome, u64>,
    pub reply: Option<LocalReply>,
    /// The request body as the upstream gets it, once the pipeline replaced it.
    pub request_body: Option<Vec<u8>>,
    /// The response body as the client gets it, once the pipeline replaced it.
    pub response_body: Option<Vec<u8>>,
    /// What the pipeline logged.
    pub logs: Vec<(LogLevel, String)>,
}

impl MemoryHost {
    pub fn request(method: &str, path: &str) -> Self {
        MemoryHost::default().with_header(":method", method).with_header(":path", path)
    }

    pub fn with_header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.request_headers.push((name.to_string(), value.as_ref().to_vec()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.request_headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }
}

impl Host for MemoryHost {
    fn request_header(&self, name: &str) -> Result<Option<Vec<u8>>, HostError> {
        Ok(self.header(name).map(<[u8]>::to_vec))
    }

    fn request_headers(&self) -> Result<HeaderList, HostError> {
        Ok(HeaderList::from_pairs(&self.request_headers))
    }

    fn property(&self, path: &[&str]) -> Result<Option<Vec<u8>>, HostError> {
        Ok(self.properties.get(&path.join(".")).cloned())
    }

    fn set_request_header(&mut self, name: &str, value: Option<&[u8]>) -> Result<(), HostError> {
        self.request_headers.retain(|(n, _)| n != name);
        if let Some(v) = value {
            self.request_headers.push((name.to_string(), v.to_vec()));
        }
        Ok(())
    }

    fn set_request_body(&mut self, body: &[u8]) -> Result<(), HostError> {
        self.request_body = Some(body.to_vec());
        Ok(())
    }

    fn add_response_header(&mut self, name: &str, value: &[u8]) -> Result<(), HostError> {
        self.response_headers.push((name.to_string(), value.to_vec()));
        Ok(())
    }

    fn response_headers(&self) -> Result<Vec<(String, Vec<u8>)>, HostError> {
        Ok(self.response_headers.clone())
    }

    fn set_response_header(&mut self, name: &str, value: Option<&[u8]>) -> Result<(), HostError> {
        self.response_headers.retain(|(n, _)| n != name);
        if let Some(v) = value {
            self.response_headers.push((name.to_string(), v.to_vec()));
        }
        Ok(())
    }

    fn set_response_body(&mut self, body: &[u8]) -> Result<(), HostError> {
        self.response_body = Some(body.to_vec());
        Ok(())
    }

    fn set_filter_state(&mut self, key: &str, value: &[u8]) -> Result<(), HostError> {
        self.filter_state.insert(key.to_string(), value.to_vec());
        Ok(())
    }

    fn shared_data(&self, key: &str) -> Result<Versioned, HostError> {
        self.shared.get(key)
    }

    fn set_shared_data(
        &mut self,
        key: &str,
        value: &[u8],
        cas: Option<u32>,
    ) -> Result<(), HostError> {
        self.shared.set(key, value, cas)
    }

    fn now_nanos(&self) -> u64 {
        self.now_nanos
    }

    fn count(&mut self, outcome: Outcome) {
        *self.counts.entry(outcome).or_default() += 1;
    }

    fn send_reply(&mut self, reply: &LocalReply) -> Result<(), HostError> {
        self.reply = Some(reply.clone());
        Ok(())
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        self.logs.push((level, message.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    #[test]
    fn shared_data_has_envoy_cas_semantics() {
        let s = SharedStore::default();
        assert_eq!(s.get("k").unwrap(), (None, None));
        s.set("k", b"1", Some(77)).unwrap(); // insert ignores cas
        let (v, cas) = s.get("k").unwrap();
        assert_eq!(v.as_deref(), Some(&b"1"[..]));
        let cas = cas.unwrap();
        assert_eq!(s.set("k", b"2", Some(cas.wrapping_add(1))), Err(HostError::CasMismatch));
        s.set("k", b"2", Some(cas)).unwrap();
        assert_eq!(s.set("k", b"3", Some(cas)), Err(HostError::CasMismatch), "stale after write");
        s.set("k", b"4", Some(0)).unwrap(); // cas 0 overwrites
        s.set("k", b"5", None).unwrap();
        assert_eq!(s.get("k").unwrap().0.as_deref(), Some(&b"5"[..]));
    }
}
